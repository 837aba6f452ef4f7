"""spreadsheets.batchUpdate: every sub-request is applied to a deep copy; the copy replaces
the original only if all of them succeed (Google applies a batch atomically)."""
import copy
import struct

from . import dimensions, fieldmask, limits, metadata
from .errors import ApiError, bad_request

HANDLERS = {}


def handler(name):
    def deco(fn):
        HANDLERS[name] = fn
        return fn
    return deco


def run(state, ss, body):
    requests = body.get("requests")
    if not requests:
        raise bad_request("Must specify at least one request.")
    work = copy.deepcopy(ss)
    replies = []
    for i, req in enumerate(requests):
        if len(req) != 1:
            raise bad_request(f"Invalid requests[{i}]: exactly one kind of request must be set")
        (kind, args), = req.items()
        fn = HANDLERS.get(kind)
        if fn is None:
            raise bad_request(f"Invalid JSON payload received. Unknown name \"{kind}\" at "
                              f"'requests[{i}]': Cannot find field.")
        try:
            reply = fn(work, args or {})
        except ApiError as e:
            raise ApiError(e.code, e.message.replace("requests[0]", f"requests[{i}]"), e.details)
        replies.append(reply or {})
    limits.check_grid(work)
    work.touch()
    state.replace(work)
    out = {"spreadsheetId": ss.id, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        from . import render
        out["updatedSpreadsheet"] = render.spreadsheet(work, {})
    return out


# --- sheets ------------------------------------------------------------------------
@handler("addSheet")
def add_sheet(ss, args):
    from .store import Sheet
    props = copy.deepcopy(args.get("properties") or {})
    title = props.get("title") or _next_title(ss)
    if ss.sheet_by_title(title):
        raise bad_request(f"Invalid requests[0].addSheet: A sheet with the name \"{title}\" "
                          f"already exists. Please enter another name.")
    sid = props.get("sheetId", ss.new_sheet_id())
    if any(s.id == sid for s in ss.sheets):
        raise bad_request(f"Invalid requests[0].addSheet: Sheet with id {sid} already exists.")
    gp = props.get("gridProperties") or {}
    sheet = Sheet(sid, title, 0, gp.get("rowCount", 1000), gp.get("columnCount", 26))
    for k, v in props.items():
        if k not in ("sheetId", "title", "index", "gridProperties"):
            sheet.props[k] = v
    for k in ("frozenRowCount", "frozenColumnCount", "hideGridlines"):
        if gp.get(k):
            sheet.props["gridProperties"][k] = gp[k]
    _normalize_colors(sheet.props)
    ss.sheets.insert(min(props.get("index", len(ss.sheets)), len(ss.sheets)), sheet)
    ss.reindex()
    return {"addSheet": {"properties": copy.deepcopy(sheet.props)}}


def _next_title(ss):
    n = len(ss.sheets) + 1
    while ss.sheet_by_title(f"Sheet{n}"):
        n += 1
    return f"Sheet{n}"


@handler("deleteSheet")
def delete_sheet(ss, args):
    sid = args.get("sheetId", 0)
    if not any(s.id == sid for s in ss.sheets):
        raise bad_request(f"Invalid requests[0].deleteSheet: No sheet with id: {sid}")
    if len(ss.sheets) == 1:
        raise bad_request("Invalid requests[0].deleteSheet: You can't remove all the sheets "
                          "in a document.")
    ss.sheets = [s for s in ss.sheets if s.id != sid]
    for mid, md in list(ss.metadata.items()):
        loc = md["location"]
        if loc.get("sheetId") == sid or (loc.get("dimensionRange") or {}).get("sheetId") == sid:
            del ss.metadata[mid]
    ss.reindex()


@handler("duplicateSheet")
def duplicate_sheet(ss, args):
    src = ss.sheet_by_id(args.get("sourceSheetId", 0))
    new = copy.deepcopy(src)
    new.props["sheetId"] = args.get("newSheetId", ss.new_sheet_id())
    new.props["title"] = args.get("newSheetName") or f"Copy of {src.title}"
    if ss.sheet_by_title(new.title):
        raise bad_request(f"Invalid requests[0].duplicateSheet: A sheet with the name "
                          f"\"{new.title}\" already exists. Please enter another name.")
    at = args.get("insertSheetIndex")
    ss.sheets.insert(len(ss.sheets) if at is None else min(at, len(ss.sheets)), new)
    ss.reindex()
    return {"duplicateSheet": {"properties": copy.deepcopy(new.props)}}


@handler("updateSheetProperties")
def update_sheet_properties(ss, args):
    props = args.get("properties") or {}
    sheet = ss.sheet_by_id(props.get("sheetId", 0))
    if not args.get("fields"):
        raise bad_request("Invalid requests[0].updateSheetProperties: At least one field must "
                          "be updated.")
    tree = fieldmask.parse(args["fields"])
    new = copy.deepcopy(sheet.props)
    fieldmask.copy_masked(new, props, tree)
    _clear_color_twins(new, tree)
    _drop_defaults(new)
    new["sheetId"] = sheet.id
    if new.get("title") != sheet.title:
        other = ss.sheet_by_title(new.get("title") or "")
        if not new.get("title") or (other and other is not sheet):
            raise bad_request(f"Invalid requests[0].updateSheetProperties: A sheet with the name "
                              f"\"{new.get('title')}\" already exists. Please enter another name.")
    gp = new.setdefault("gridProperties", {})
    rows, cols = gp.get("rowCount", sheet.row_count), gp.get("columnCount", sheet.col_count)
    for k in ("frozenRowCount", "frozenColumnCount"):
        if not gp.get(k):
            gp.pop(k, None)
    index = new.get("index", sheet.props["index"])
    new["index"] = sheet.props["index"]
    gp["rowCount"], gp["columnCount"] = sheet.row_count, sheet.col_count
    _normalize_colors(new)
    sheet.props = new
    sheet.set_size(rows, cols)
    if index != sheet.props["index"]:
        ss.sheets.remove(sheet)
        ss.sheets.insert(min(index, len(ss.sheets)), sheet)
        ss.reindex()


@handler("updateSpreadsheetProperties")
def update_spreadsheet_properties(ss, args):
    fieldmask.copy_masked(ss.properties, args.get("properties") or {},
                          fieldmask.parse(args.get("fields", "")))


# --- cells ------------------------------------------------------------------------
def _normalize_colors(fmt):
    """Google mirrors every color into its *Style twin (and back)."""
    if not isinstance(fmt, dict):
        return
    for key in list(fmt):
        value = fmt[key]
        if (key == "color" or key.endswith("Color")) and isinstance(value, dict):
            _clean_rgb(value)
        if (key == "color" or key.endswith("Color")) and key != "rgbColor" \
                and isinstance(value, dict):
            fmt[key + "Style"] = {"rgbColor": copy.deepcopy(value)}
        elif key.endswith("olorStyle") and isinstance(value, dict):
            if isinstance(value.get("rgbColor"), dict):
                _clean_rgb(value["rgbColor"])
            if value.get("rgbColor") is not None:
                fmt[key[:-5]] = copy.deepcopy(value["rgbColor"])
        elif isinstance(value, dict):
            _normalize_colors(value)
        elif isinstance(value, list):
            for x in value:
                _normalize_colors(x)


def _drop_defaults(obj):
    """proto3 JSON prints neither nulls nor false booleans; a colour style set to null
    (e.g. tabColorStyle: {rgbColor: null}) clears the colour and its twin."""
    for key in list(obj):
        if key not in obj:  # already dropped as the twin of a cleared colour
            continue
        v = obj[key]
        if isinstance(v, dict):
            _drop_defaults(v)
            if not v and key.endswith("ColorStyle"):
                del obj[key]
                obj.pop(key[:-5], None)
        elif v is None or v is False:
            del obj[key]


def _f32(x):
    """Colours are float32 on Google's side and printed with the shortest round-trip text."""
    if not isinstance(x, float):
        return x
    y = struct.unpack("f", struct.pack("f", x))[0]
    for p in range(1, 10):
        s = float(f"{y:.{p}g}")
        if struct.unpack("f", struct.pack("f", s))[0] == y:
            return s
    return y


def _clean_rgb(color):
    """A Color as Google prints it: float32 components, zero components left out
    (proto3 default), e.g. {"red": 1, "blue": 0.49803922} for #FF007F."""
    for k in list(color):
        if color[k] == 0 and k != "alpha":
            del color[k]
        else:
            color[k] = _f32(color[k])


def _apply_cell(sheet, r, c, data, tree):
    cell = sheet.cell(r, c, create=True)
    fieldmask.copy_masked(cell, data or {}, tree)
    limits.check_cell(cell)
    _clear_color_twins(cell, tree)
    if cell.get("note") == "":
        del cell["note"]  # an empty note is no note
    if "userEnteredFormat" in cell:
        _normalize_colors(cell["userEnteredFormat"])
        if not cell["userEnteredFormat"]:
            del cell["userEnteredFormat"]
    for k in [k for k in cell if k not in ("userEnteredValue", "userEnteredFormat", "note",
                                            "dataValidation", "textFormatRuns", "pivotTable")]:
        del cell[k]  # read-only fields (effectiveValue, formattedValue ...) are never stored
    sheet.drop_if_empty(r, c)


def _clear_color_twins(cell, tree):
    """A colour and its *Style twin are one property: clearing either (masked but absent
    from the request) clears both, or _normalize_colors would resurrect it from the twin."""
    for path in fieldmask.leaf_paths(tree):
        key = path[-1]
        if key == "rgbColor" or not (key.endswith("Color") or key.endswith("ColorStyle")):
            continue
        parent = cell
        for step in path[:-1]:
            parent = parent.get(step) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or key in parent:
            continue
        parent.pop(key[:-5] if key.endswith("Style") else key + "Style", None)


def _mask(args, name):
    if not args.get("fields"):
        raise bad_request(f"Invalid requests[0].{name}: At least one field must be updated.")
    return fieldmask.parse(args["fields"])


@handler("repeatCell")
def repeat_cell(ss, args):
    tree = _mask(args, "repeatCell")
    sheet, r0, c0, r1, c1 = ss.grid_range(args.get("range") or {})
    for r in range(r0, r1):
        for c in range(c0, c1):
            _apply_cell(sheet, r, c, args.get("cell"), tree)


@handler("updateCells")
def update_cells(ss, args):
    tree = _mask(args, "updateCells")
    rows = args.get("rows") or []
    if "start" in args:
        st = args["start"]
        sheet = ss.sheet_by_id(st.get("sheetId", 0))
        r0, c0 = st.get("rowIndex", 0), st.get("columnIndex", 0)
        width = max((len(r.get("values") or []) for r in rows), default=0)
        r1, c1 = r0 + len(rows), c0 + width
        if r1 > sheet.row_count or c1 > sheet.col_count:
            raise bad_request(f"Invalid requests[0].updateCells: GridCoordinate out of range "
                              f"(max rows: {sheet.row_count}, max columns: {sheet.col_count})")
    else:
        sheet, r0, c0, r1, c1 = ss.grid_range(args.get("range") or {})
    for i in range(r1 - r0):
        vals = rows[i].get("values") or [] if i < len(rows) else []
        for j in range(c1 - c0):
            if "start" in args and j >= len(vals):
                continue
            _apply_cell(sheet, r0 + i, c0 + j, vals[j] if j < len(vals) else {}, tree)


@handler("setDataValidation")
def set_data_validation(ss, args):
    sheet, r0, c0, r1, c1 = ss.grid_range(args.get("range") or {})
    tree = {"dataValidation": {}}
    for r in range(r0, r1):
        for c in range(c0, c1):
            _apply_cell(sheet, r, c, {"dataValidation": args["rule"]} if args.get("rule") else {},
                        tree)


@handler("updateBorders")
def update_borders(ss, args):
    sheet, r0, c0, r1, c1 = ss.grid_range(args.get("range") or {})
    edges = {"top": lambda r, c: r == r0, "bottom": lambda r, c: r == r1 - 1,
             "left": lambda r, c: c == c0, "right": lambda r, c: c == c1 - 1,
             "innerHorizontal": lambda r, c: r < r1 - 1, "innerVertical": lambda r, c: c < c1 - 1}
    target = {"innerHorizontal": "bottom", "innerVertical": "right"}
    for r in range(r0, r1):
        for c in range(c0, c1):
            for edge, hit in edges.items():
                if edge in args and hit(r, c):
                    cell = sheet.cell(r, c, create=True)
                    borders = cell.setdefault("userEnteredFormat", {}).setdefault("borders", {})
                    borders[target.get(edge, edge)] = copy.deepcopy(args[edge])
                    _normalize_colors(cell["userEnteredFormat"])


@handler("mergeCells")
def merge_cells(ss, args):
    sheet, r0, c0, r1, c1 = ss.grid_range(args.get("range") or {})
    mtype = args.get("mergeType", "MERGE_ALL")
    spans = {"MERGE_ALL": [(r0, c0, r1, c1)],
             "MERGE_ROWS": [(r, c0, r + 1, c1) for r in range(r0, r1)],
             "MERGE_COLUMNS": [(r0, c, r1, c + 1) for c in range(c0, c1)]}[mtype]
    # Merges lying wholly inside the new range are replaced by it (recorded: MERGE_ALL over
    # a MERGE_ROWS block succeeds); only a partial overlap is an error.
    sheet.merges = [m for m in sheet.merges if not _inside(m, r0, c0, r1, c1)]
    for a, b, c, d in spans:
        if any(_overlap(m, a, b, c, d) for m in sheet.merges):
            raise bad_request("Invalid requests[0].mergeCells: You can't merge cells that are "
                              "already merged.")
        sheet.merges.append({"sheetId": sheet.id, "startRowIndex": a, "endRowIndex": c,
                             "startColumnIndex": b, "endColumnIndex": d})
        # Like the UI, a merge keeps only the top-left value.
        for r in range(a, c):
            for col in range(b, d):
                cell = sheet.cell(r, col)
                if cell and (r, col) != (a, b):
                    cell.pop("userEnteredValue", None)
                    sheet.drop_if_empty(r, col)


def _inside(m, r0, c0, r1, c1):
    return (r0 <= m["startRowIndex"] and m["endRowIndex"] <= r1
            and c0 <= m["startColumnIndex"] and m["endColumnIndex"] <= c1)


def _overlap(m, r0, c0, r1, c1):
    return (m["startRowIndex"] < r1 and r0 < m["endRowIndex"]
            and m["startColumnIndex"] < c1 and c0 < m["endColumnIndex"])


@handler("unmergeCells")
def unmerge_cells(ss, args):
    sheet, r0, c0, r1, c1 = ss.grid_range(args.get("range") or {})
    sheet.merges = [m for m in sheet.merges if not _overlap(m, r0, c0, r1, c1)]


@handler("sortRange")
def sort_range(ss, args):
    sheet, r0, c0, r1, c1 = ss.grid_range(args.get("range") or {})
    dimensions.sort_rows(ss, sheet, r0, c0, r1, c1, args.get("sortSpecs") or [])


# --- dimensions -------------------------------------------------------------------
def _dim_range(ss, args, name):
    rng = args.get("range") or {}
    sheet = ss.sheet_by_id(rng.get("sheetId", 0))
    dim = rng.get("dimension")
    if dim not in ("ROWS", "COLUMNS"):
        raise bad_request(f"Invalid requests[0].{name}: range.dimension must be specified")
    start, end = rng.get("startIndex", 0), rng.get("endIndex")
    if end is None or end <= start:
        raise bad_request(f"Invalid requests[0].{name}: range.endIndex must be greater than "
                          f"range.startIndex")
    return sheet, dim, start, end


@handler("insertDimension")
def insert_dimension(ss, args):
    sheet, dim, start, end = _dim_range(ss, args, "insertDimension")
    if args.get("inheritFromBefore") and start == 0:
        raise bad_request("Invalid requests[0].insertDimension: Cannot inherit properties from "
                          "before if inserting at the beginning.")
    dimensions.insert(ss, sheet, dim, start, end)
    if dim == "ROWS":
        _inherit_row_format(sheet, start, end, args.get("inheritFromBefore"))


def _inherit_row_format(sheet, start, end, before):
    src = start - 1 if before else end
    if not 0 <= src < sheet.row_count:
        return
    for r in range(start, end):
        for c, cell in sheet.rows[src].items():
            if cell.get("userEnteredFormat"):
                sheet.cell(r, c, create=True)["userEnteredFormat"] = copy.deepcopy(
                    cell["userEnteredFormat"])


@handler("deleteDimension")
def delete_dimension(ss, args):
    sheet, dim, start, end = _dim_range(ss, args, "deleteDimension")
    dimensions.delete(ss, sheet, dim, start, end)


@handler("appendDimension")
def append_dimension(ss, args):
    sheet = ss.sheet_by_id(args.get("sheetId", 0))
    n = args.get("length", 0)
    if n <= 0:
        raise bad_request("Invalid requests[0].appendDimension: length must be positive")
    if args.get("dimension") == "COLUMNS":
        sheet.set_size(cols=sheet.col_count + n)
    else:
        sheet.set_size(rows=sheet.row_count + n)


@handler("updateDimensionProperties")
def update_dimension_properties(ss, args):
    sheet, dim, start, end = _dim_range(ss, args, "updateDimensionProperties")
    store = sheet.row_px if dim == "ROWS" else sheet.col_px
    for i in range(start, end):
        props = store.setdefault(i, {})
        fieldmask.copy_masked(props, args.get("properties") or {},
                              fieldmask.parse(args.get("fields", "*")))


# --- developer metadata -----------------------------------------------------------
@handler("createDeveloperMetadata")
def create_developer_metadata(ss, args):
    md = metadata.create(ss, args.get("developerMetadata") or {})
    return {"createDeveloperMetadata": {"developerMetadata": md}}


@handler("updateDeveloperMetadata")
def update_developer_metadata(ss, args):
    tree = fieldmask.parse(args.get("fields", ""))
    changed = []
    for f in args.get("dataFilters") or []:
        for md in metadata.find(ss, f):
            src = dict(args.get("developerMetadata") or {})
            if "location" in src:
                src["location"] = metadata.location_for(ss, src["location"])
            fieldmask.copy_masked(md, src, tree)
            metadata.check_size(ss, md)
            changed.append(copy.deepcopy(md))
    return {"updateDeveloperMetadata": {"developerMetadata": changed}}


@handler("deleteDeveloperMetadata")
def delete_developer_metadata(ss, args):
    gone = metadata.find(ss, args.get("dataFilter") or {})
    for md in gone:
        ss.metadata.pop(md["metadataId"], None)
    return {"deleteDeveloperMetadata": {"deletedDeveloperMetadata": copy.deepcopy(gone)}}


# --- protected ranges ---------------------------------------------------------------
@handler("addProtectedRange")
def add_protected_range(ss, args):
    pr = copy.deepcopy(args.get("protectedRange") or {})
    pr.setdefault("protectedRangeId", ss.new_metadata_id())
    pr.setdefault("requestingUserCanEdit", True)
    ss.protected.append(pr)
    return {"addProtectedRange": {"protectedRange": copy.deepcopy(pr)}}


@handler("deleteProtectedRange")
def delete_protected_range(ss, args):
    ss.protected = [p for p in ss.protected
                    if p["protectedRangeId"] != args.get("protectedRangeId")]


# Handlers kept in their own modules register themselves on import; last, since they import
# `handler` from here (E402 cannot apply), and unused by name (F401).
from . import groups, paste, ranges  # noqa: E402, F401
