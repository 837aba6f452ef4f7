"""In-memory model: spreadsheets -> sheets -> rows of cells (API-shaped CellData dicts).

A sheet keeps `rows`: a list with one dict per grid row mapping column index -> cell dict
({"userEnteredValue", "userEnteredFormat", "note", "dataValidation"}). Rows are list items
so inserting/deleting/sorting rows moves everything in the row at once.
"""
import copy
import datetime as dt
import random
import string
import threading

from . import a1, defaults, values
from .errors import ApiError


def now_iso():
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_spreadsheet_id():
    alphabet = string.ascii_letters + string.digits + "-_"
    return "1" + "".join(random.choice(alphabet) for _ in range(43))


class Sheet:
    def __init__(self, sheet_id, title, index, rows=1000, cols=26):
        self.props = {"sheetId": sheet_id, "title": title, "index": index, "sheetType": "GRID",
                      "gridProperties": {"rowCount": rows, "columnCount": cols}}
        self.rows = [dict() for _ in range(rows)]
        self.merges = []
        self.row_px = {}
        self.col_px = {}
        self.basic_filter = None
        self.groups = {}  # "ROWS"/"COLUMNS" -> depth counters, see groups.py

    @property
    def id(self):
        return self.props["sheetId"]

    @property
    def title(self):
        return self.props["title"]

    @property
    def row_count(self):
        return self.props["gridProperties"]["rowCount"]

    @property
    def col_count(self):
        return self.props["gridProperties"]["columnCount"]

    def set_size(self, rows=None, cols=None):
        gp = self.props["gridProperties"]
        if rows is not None:
            if rows < len(self.rows):
                del self.rows[rows:]
            else:
                self.rows.extend(dict() for _ in range(rows - len(self.rows)))
            gp["rowCount"] = rows
        if cols is not None:
            if cols < gp["columnCount"]:
                for row in self.rows:
                    for c in [c for c in row if c >= cols]:
                        del row[c]
            gp["columnCount"] = cols

    def cell(self, r, c, create=False):
        row = self.rows[r]
        if create:
            return row.setdefault(c, {})
        return row.get(c)

    def drop_if_empty(self, r, c):
        if not self.rows[r].get(c, True):
            del self.rows[r][c]


class Spreadsheet:
    def __init__(self, title, owner=None):
        self.id = new_spreadsheet_id()
        self.properties = defaults.spreadsheet_properties(title)
        self.sheets = [Sheet(0, "Sheet1", 0)]
        self.metadata = {}  # metadataId -> DeveloperMetadata dict
        self.protected = []
        self.named_ranges = []
        self.created = now_iso()
        self.modified = self.created
        self.owner = owner
        self.shared_with = set()
        self.permissions = []  # Drive permission resources created through the API

    def touch(self):
        self.modified = now_iso()

    # --- sheets -------------------------------------------------------------
    def sheet_by_id(self, sheet_id, what="sheet"):
        for s in self.sheets:
            if s.id == sheet_id:
                return s
        raise ApiError(400, f"No grid with id: {sheet_id}")

    def sheet_by_title(self, title):
        for s in self.sheets:
            if s.title == title:
                return s
        for s in self.sheets:  # Sheets matches titles case-insensitively
            if s.title.lower() == title.lower():
                return s
        return None

    def reindex(self):
        for i, s in enumerate(self.sheets):
            s.props["index"] = i

    def new_sheet_id(self):
        taken = {s.id for s in self.sheets}
        while True:
            sid = random.randint(1, 2**31 - 1)
            if sid not in taken:
                return sid

    def new_metadata_id(self):
        while True:
            mid = random.randint(1, 2**31 - 1)
            if mid not in self.metadata:
                return mid

    # --- ranges ------------------------------------------------------------
    def resolve(self, text, clip=True):
        """A1 text -> (sheet, r0, c0, r1, c1, single). Unbounded ends are clipped to the grid."""
        try:
            title, cells = a1.split_sheet(text)
            if title is None:
                sheet = self.sheet_by_title(cells)
                if sheet is not None:
                    title, cells = sheet.title, None
                elif self._named(cells):
                    return self._named(cells)
                else:
                    sheet = self.sheets[0]
                    if not a1.looks_like_cells(cells):
                        raise ValueError(text)
            else:
                sheet = self.sheet_by_title(title)
                if sheet is None:
                    raise ValueError(text)
                if cells and not a1.looks_like_cells(cells) and self._named(cells):
                    return self._named(cells)  # 'Sheet1'!my_range names a named range
            rng = a1.parse_cells(cells) if cells else a1.Cells(0, 0, None, None)
        except ValueError:
            raise ApiError(400, f"Unable to parse range: {text}")
        r1 = rng.r1 if rng.r1 is not None else sheet.row_count
        c1 = rng.c1 if rng.c1 is not None else sheet.col_count
        if clip and (r1 > sheet.row_count or c1 > sheet.col_count
                     or rng.r0 >= sheet.row_count or rng.c0 >= sheet.col_count):
            raise ApiError(400, f"Range ({a1.quote_title(sheet.title)}!{cells or ''}) exceeds grid "
                           f"limits. Max rows: {sheet.row_count}, max columns: {sheet.col_count}")
        return sheet, rng.r0, rng.c0, r1, c1, rng.single

    def _named(self, name):
        """A named range used as an A1 range -> resolve() tuple, or None."""
        for nr in self.named_ranges:
            if nr["name"].lower() == name.lower():
                sheet, r0, c0, r1, c1 = self.grid_range(nr["range"])
                return sheet, r0, c0, r1, c1, (r1 - r0 == 1 and c1 - c0 == 1)
        return None

    def grid_range(self, gr):
        """GridRange dict -> (sheet, r0, c0, r1, c1), open ends clipped to the grid."""
        sheet = self.sheet_by_id(gr.get("sheetId", 0))
        r0, c0 = gr.get("startRowIndex", 0), gr.get("startColumnIndex", 0)
        r1 = gr.get("endRowIndex", sheet.row_count)
        c1 = gr.get("endColumnIndex", sheet.col_count)
        if r1 > sheet.row_count or c1 > sheet.col_count or r0 < 0 or c0 < 0:
            raise ApiError(400, f"Range ({a1.quote_title(sheet.title)}!"
                                f"{a1.cells_text(r0, c0, max(r1, r0 + 1), max(c1, c0 + 1))}) "
                                f"exceeds grid limits. Max rows: {sheet.row_count}, "
                                f"max columns: {sheet.col_count}")
        return sheet, r0, c0, r1, c1

    # --- values ------------------------------------------------------------
    def lookup(self, sheet):
        def get(r, c, depth=[0]):
            if r >= sheet.row_count or c >= sheet.col_count:
                return None
            cell = sheet.cell(r, c)
            if not cell:
                return None
            depth[0] += 1
            try:
                if depth[0] > 50:
                    raise ValueError("circular")
                return values.effective_value(cell, get)
            finally:
                depth[0] -= 1
        return get

    def render_cell(self, sheet, r, c, how):
        """A cell's value for the values API (how: FORMATTED_VALUE/UNFORMATTED_VALUE/FORMULA)."""
        cell = sheet.cell(r, c)
        if not cell or not cell.get("userEnteredValue"):
            return None
        uev = cell["userEnteredValue"]
        if how == "FORMULA" and "formulaValue" in uev:
            return uev["formulaValue"]
        ev = values.effective_value(cell, self.lookup(sheet))
        if how == "FORMATTED_VALUE":
            return values.formatted_value(ev, number_format(cell)) or ("" if ev is None else None)
        return values.unformatted(ev)


def number_format(cell):
    return (cell.get("userEnteredFormat") or {}).get("numberFormat")


class State:
    """All spreadsheets of one emulator instance (+ optional token -> email map for ACLs)."""

    def __init__(self):
        self.spreadsheets = {}
        self.lock = threading.RLock()
        self.emails = {}  # token -> email; ACLs apply only to tokens listed here

    def create(self, title="Untitled spreadsheet", owner_token=None):
        with self.lock:
            ss = Spreadsheet(title, owner=self.emails.get(owner_token))
            self.spreadsheets[ss.id] = ss
            return ss

    def get(self, spreadsheet_id, token=None):
        ss = self.spreadsheets.get(spreadsheet_id)
        if ss is None:
            raise ApiError(404)
        email = self.emails.get(token)
        if email and ss.owner and email != ss.owner and email not in ss.shared_with:
            raise ApiError(403)
        return ss

    def knows(self, token):
        """Whether a token maps to a person. Once a test names who its tokens belong to
        (`emails`), a token of nobody is refused, as Google refuses one; an emulator told of
        no one takes every token as its own person."""
        return not self.emails or token in self.emails

    def share(self, spreadsheet_id, email):
        self.spreadsheets[spreadsheet_id].shared_with.add(email)

    def replace(self, ss):
        self.spreadsheets[ss.id] = ss

    # --- helpers for tests -----------------------------------------------------
    def values(self, spreadsheet_id, range_text, how="FORMATTED_VALUE"):
        ss = self.spreadsheets[spreadsheet_id]
        sheet, r0, c0, r1, c1, _ = ss.resolve(range_text)
        return [[ss.render_cell(sheet, r, c, how) for c in range(c0, c1)] for r in range(r0, r1)]

    def cell(self, spreadsheet_id, range_text):
        ss = self.spreadsheets[spreadsheet_id]
        sheet, r0, c0, *_ = ss.resolve(range_text)
        return copy.deepcopy(sheet.cell(r0, c0) or {})

    def note(self, spreadsheet_id, range_text):
        return self.cell(spreadsheet_id, range_text).get("note")
