"""copyPaste, cutPaste, findReplace and autoResizeDimensions."""
import copy
import re

from .batch import _apply_cell, handler
from .errors import bad_request

PASTE_FIELDS = {
    "PASTE_NORMAL": ("userEnteredValue", "userEnteredFormat", "note", "dataValidation",
                     "textFormatRuns"),
    "PASTE_VALUES": ("userEnteredValue",),
    "PASTE_FORMAT": ("userEnteredFormat",),
    "PASTE_NO_BORDERS": ("userEnteredValue", "userEnteredFormat", "note", "dataValidation",
                         "textFormatRuns"),
    "PASTE_FORMULA": ("userEnteredValue",),
    "PASTE_DATA_VALIDATION": ("dataValidation",),
    "PASTE_CONDITIONAL_FORMATTING": (),
}


def _snapshot(sheet, r0, c0, r1, c1):
    return [[copy.deepcopy(sheet.cell(r, c) or {}) for c in range(c0, c1)] for r in range(r0, r1)]


def _paste(sheet, r0, c0, block, paste_type, height, width):
    fields = PASTE_FIELDS.get(paste_type or "PASTE_NORMAL")
    if fields is None:
        raise bad_request(f"Invalid requests[0]: Unknown paste type {paste_type}")
    tree = {f: {} for f in fields}
    for i in range(height):
        for j in range(width):
            src = block[i % len(block)][j % len(block[0])]
            if paste_type == "PASTE_NO_BORDERS" and "userEnteredFormat" in src:
                src["userEnteredFormat"].pop("borders", None)
            _apply_cell(sheet, r0 + i, c0 + j, src, tree)


@handler("copyPaste")
def copy_paste(ss, args):
    sheet, r0, c0, r1, c1 = ss.grid_range(args.get("source") or {})
    dest, d0, e0, d1, e1 = ss.grid_range(args.get("destination") or {})
    block = _snapshot(sheet, r0, c0, r1, c1)
    if args.get("pasteOrientation") == "TRANSPOSE":
        block = [list(x) for x in zip(*block)]
    h, w = len(block), len(block[0]) if block else 0
    if not h or not w:
        return
    # The destination is tiled with whole copies of the source, at least one.
    height = max(h, (d1 - d0) // h * h)
    width = max(w, (e1 - e0) // w * w)
    height, width = min(height, dest.row_count - d0), min(width, dest.col_count - e0)
    _paste(dest, d0, e0, block, args.get("pasteType"), height, width)


@handler("cutPaste")
def cut_paste(ss, args):
    sheet, r0, c0, r1, c1 = ss.grid_range(args.get("source") or {})
    dst = args.get("destination") or {}
    dest = ss.sheet_by_id(dst.get("sheetId", 0))
    d0, e0 = dst.get("rowIndex", 0), dst.get("columnIndex", 0)
    block = _snapshot(sheet, r0, c0, r1, c1)
    for r in range(r0, r1):
        for c in range(c0, c1):
            sheet.rows[r].pop(c, None)
    h, w = min(r1 - r0, dest.row_count - d0), min(c1 - c0, dest.col_count - e0)
    if h > 0 and w > 0:
        _paste(dest, d0, e0, block, args.get("pasteType"), h, w)


@handler("autoResizeDimensions")
def auto_resize_dimensions(ss, args):
    # Pixel widths depend on font metrics we cannot reproduce; validate and accept.
    dims = args.get("dimensions") or {}
    ss.sheet_by_id(dims.get("sheetId", 0))


@handler("findReplace")
def find_replace(ss, args):
    find = args.get("find")
    if not find:
        raise bad_request("Invalid requests[0].findReplace: Find must not be empty.")
    if "range" in args:
        targets = [ss.grid_range(args["range"])]
    elif "sheetId" in args:
        s = ss.sheet_by_id(args["sheetId"])
        targets = [(s, 0, 0, s.row_count, s.col_count)]
    else:
        targets = [(s, 0, 0, s.row_count, s.col_count) for s in ss.sheets]
    pattern = find if args.get("searchByRegex") else re.escape(find)
    if args.get("matchEntireCell"):
        pattern = f"^(?:{pattern})$"
    rx = re.compile(pattern, 0 if args.get("matchCase") else re.IGNORECASE)
    repl = args.get("replacement", "")
    counts = {"values": 0, "formulas": 0, "occurrences": 0, "rows": set(), "sheets": set()}
    for sheet, r0, c0, r1, c1 in targets:
        for r in range(r0, r1):
            for c in range(c0, c1):
                _replace_cell(sheet, r, c, rx, repl, args.get("includeFormulas"), counts)
    reply = {}
    for key, name in (("values", "valuesChanged"), ("formulas", "formulasChanged"),
                      ("rows", "rowsChanged"), ("sheets", "sheetsChanged"),
                      ("occurrences", "occurrencesChanged")):
        n = len(counts[key]) if isinstance(counts[key], set) else counts[key]
        if n:
            reply[name] = n
    return {"findReplace": reply}


def _replace_cell(sheet, r, c, rx, repl, formulas, counts):
    cell = sheet.cell(r, c)
    uev = (cell or {}).get("userEnteredValue") or {}
    if "formulaValue" in uev:
        if not formulas:
            return
        key, kind = "formulaValue", "formulas"
    elif "stringValue" in uev:
        key, kind = "stringValue", "values"
    else:
        return
    new, n = rx.subn(lambda m: repl, uev[key])
    if not n:
        return
    uev[key] = new
    counts[kind] += 1
    counts["occurrences"] += n
    counts["rows"].add((sheet.id, r))
    counts["sheets"].add(sheet.id)
