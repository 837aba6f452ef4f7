"""Template files: the brief's templates, or any rows in the template's columns (the prompt
writer's), as .csv or .xlsx (text columns, dropdowns)."""
from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
from openpyxl.worksheet.datavalidation import DataValidation

from server.files.workbook import put_value
from server.sheet.columns import MAX_SHEET_ROWS, column_letter
from server.sheet.template import TEXT_COLUMNS, input_rule, template_rows

# A spreadsheet opening a CSV runs a cell starting with one of these as a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_template(path: Path, full: bool) -> None:
    write_rows(path, template_rows(full))


def write_rows(path: Path, rows: list[list]) -> None:
    """Row 1 the header, then data rows, as a .csv or an .xlsx with the template's input rules."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([[_csv_value(v) for v in row] for row in rows])
    elif path.suffix.lower() == ".xlsx":
        _xlsx_template(rows).save(path)
    else:
        raise ValueError(f"{path.name}: a template can be written as .csv or .xlsx.")


def _csv_value(value) -> object:
    """Text that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _xlsx_template(rows: list[list]) -> openpyxl.Workbook:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Batch"
    for row_number, values in enumerate(rows, start=1):
        for column_number, value in enumerate(values, start=1):
            put_value(sheet.cell(row=row_number, column=column_number), value)
    sheet.freeze_panes = "A2"
    for index, name in enumerate(rows[0]):
        letter = column_letter(index)
        if name in TEXT_COLUMNS:
            # Text format stops Excel turning 16:9 into a time or 2.0 into 2.
            for row_number in range(1, MAX_SHEET_ROWS + 1):
                sheet[f"{letter}{row_number}"].number_format = "@"
        validation = _validation_for(name)
        if validation is not None:
            validation.add(f"{letter}2:{letter}{MAX_SHEET_ROWS}")
            sheet.add_data_validation(validation)
        sheet.column_dimensions[letter].width = 60 if name == "prompt" else 16
    return workbook


def _validation_for(name: str) -> DataValidation | None:
    rule = input_rule(name)
    if rule is None:
        return None
    if rule.whole_numbers:
        low, high = rule.whole_numbers
        return DataValidation(type="whole", operator="between", formula1=str(low),
                              formula2=str(high), allow_blank=True, showErrorMessage=True,
                              error=rule.message)
    return DataValidation(type="list", formula1='"' + ",".join(rule.choices) + '"',
                          allow_blank=True, showErrorMessage=rule.strict,
                          error=f"{name}: {rule.message}")
