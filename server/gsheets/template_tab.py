"""The template as a new tab of the person's spreadsheet: example rows, text-formatted columns,
dropdowns and number ranges (the same input rules as the workbook template)."""
from __future__ import annotations

import random

from server.gsheets.cells import grid_range, text_format_request, typed_value
from server.sheet.columns import MAX_SHEET_ROWS
from server.sheet.template import TEXT_COLUMNS, input_rule, template_rows

TEMPLATE_TITLE = "Batch template"
TEMPLATE_COLUMNS = 26


def template_tab_requests(existing: list[dict], full: bool) -> tuple[int, str, list[dict]]:
    """The new tab's id, title and the requests that make it, given the existing tabs'
    properties (its id and title are chosen to be free)."""
    title = _free_title({p["title"].lower() for p in existing})
    sheet_id = _free_sheet_id({p["sheetId"] for p in existing})
    rows = template_rows(full)
    names = rows[0]
    requests = [{"addSheet": {"properties": {
        "sheetId": sheet_id, "title": title,
        "gridProperties": {"rowCount": MAX_SHEET_ROWS, "columnCount": TEMPLATE_COLUMNS,
                           "frozenRowCount": 1}}}}]
    requests += [text_format_request(sheet_id, names.index(name), 0, MAX_SHEET_ROWS)
                 for name in TEXT_COLUMNS if name in names]
    requests.append({"updateCells": {
        "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": 0},
        "rows": [{"values": [typed_value(value) for value in row]} for row in rows],
        "fields": "userEnteredValue"}})
    requests.append({"repeatCell": {
        "range": {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 1,
                  "startColumnIndex": 0, "endColumnIndex": len(names)},
        "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
        "fields": "userEnteredFormat.textFormat.bold"}})
    requests += [{"setDataValidation": {"range": grid_range(sheet_id, 1, index, MAX_SHEET_ROWS),
                                        "rule": rule}}
                 for index, name in enumerate(names) if (rule := _validation_rule(name))]
    return sheet_id, title, requests


def _validation_rule(name: str) -> dict | None:
    """A DataValidationRule for the column's input rule."""
    rule = input_rule(name)
    if rule is None:
        return None
    if rule.whole_numbers:
        low, high = rule.whole_numbers
        return {"condition": {"type": "NUMBER_BETWEEN", "values": [
            {"userEnteredValue": str(low)}, {"userEnteredValue": str(high)}]},
            "inputMessage": rule.message, "strict": True}
    return {"condition": {"type": "ONE_OF_LIST", "values": [
        {"userEnteredValue": choice} for choice in rule.choices]},
        "inputMessage": rule.message, "strict": rule.strict, "showCustomUi": True}


def _free_title(taken_lower: set[str]) -> str:
    title, n = TEMPLATE_TITLE, 1
    while title.lower() in taken_lower:  # Sheets compares tab names case-insensitively
        n += 1
        title = f"{TEMPLATE_TITLE} {n}"
    return title


def _free_sheet_id(taken: set[int]) -> int:
    """We choose the id so later sub-requests of the same batch can address the new tab."""
    while True:
        sheet_id = random.randint(1, 2**31 - 1)
        if sheet_id not in taken:
            return sheet_id
