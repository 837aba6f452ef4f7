"""Google's size limits for a spreadsheet, as the API enforces them.

- Characters per cell. Google Docs Editors Help, "Files you can store in Google Drive"
  (support.google.com/drive/answer/37603): "Each cell can hold up to 50,000 characters"; the API
  answers "Your input contains more than the maximum of 50000 characters in a single cell."
- Cells: same page: "Up to 10 million cells or 18,278 columns (column ZZZ) for spreadsheets that
  are created in or converted to Google Sheets"; the API answers "This action would increase the
  number of cells in the workbook above the limit of 10000000 cells."
"""
from .errors import bad_request

MAX_CELL_CHARACTERS = 50_000
MAX_CELLS = 10_000_000
MAX_COLUMNS = 18_278  # column ZZZ


def check_text(value) -> None:
    """A value written into one cell (text, or a formula's text)."""
    if isinstance(value, str) and len(value) > MAX_CELL_CHARACTERS:
        raise bad_request(f"Your input contains more than the maximum of {MAX_CELL_CHARACTERS} "
                          "characters in a single cell.")


def check_cell(cell: dict) -> None:
    for text in (cell.get("userEnteredValue") or {}).values():
        check_text(text)
    check_text(cell.get("note"))


def check_grid(ss) -> None:
    """After a change to any sheet's size: the whole spreadsheet within Google's limits."""
    for sheet in ss.sheets:
        if sheet.col_count > MAX_COLUMNS:
            raise bad_request(f"This action would increase the number of columns in sheet "
                              f"'{sheet.title}' above the limit of {MAX_COLUMNS} columns.")
    cells = sum(sheet.row_count * sheet.col_count for sheet in ss.sheets)
    if cells > MAX_CELLS:
        raise bad_request(f"This action would increase the number of cells in the workbook above "
                          f"the limit of {MAX_CELLS} cells.")
