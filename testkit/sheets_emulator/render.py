"""spreadsheets.get: the Spreadsheet resource, optional grid data, and the `fields` mask."""
import copy

from . import defaults, fieldmask, groups, ranges, values
from .store import number_format


def spreadsheet(ss, params, ranges=()):
    tree = fieldmask.parse(params.get("fields", ""))
    with_data = str(params.get("includeGridData", "")).lower() == "true" or \
        "data" in tree.get("sheets", {})
    body = {"spreadsheetId": ss.id, "properties": copy.deepcopy(ss.properties),
            "sheets": _sheets(ss, ranges, with_data)}
    if ss.metadata and not ranges:
        spread = [copy.deepcopy(m) for m in ss.metadata.values()
                  if m["location"]["locationType"] == "SPREADSHEET"]
        if spread:
            body["developerMetadata"] = spread
    if ss.named_ranges:
        body["namedRanges"] = copy.deepcopy(ss.named_ranges)
    body["spreadsheetUrl"] = f"https://docs.google.com/spreadsheets/d/{ss.id}/edit"
    return fieldmask.apply(body, tree)


def _sheets(ss, ranges, with_data):
    if not ranges:
        return [_sheet(ss, s, [(0, 0, s.row_count, s.col_count)] if with_data else None)
                for s in ss.sheets]
    picked = {}
    for text in ranges:
        sheet, r0, c0, r1, c1, _ = ss.resolve(text)
        picked.setdefault(sheet.id, (sheet, []))[1].append((r0, c0, r1, c1))
    return [_sheet(ss, sheet, spans if with_data else None) for sheet, spans in picked.values()]


def _sheet(ss, sheet, spans):
    out = {"properties": copy.deepcopy(sheet.props)}
    if spans is not None:
        out["data"] = [grid_data(ss, sheet, *span) for span in spans]
    if sheet.merges:
        out["merges"] = [ranges.strip_default_sheet(m) for m in sheet.merges]
    if sheet.basic_filter:
        bf = copy.deepcopy(sheet.basic_filter)
        bf["range"] = ranges.strip_default_sheet(bf["range"])
        out["basicFilter"] = bf
    for dim, key in (("ROWS", "rowGroups"), ("COLUMNS", "columnGroups")):
        found = groups.list_groups(sheet, dim)
        if found:
            out[key] = found
    prot = [copy.deepcopy(p) for p in ss.protected
            if (p.get("range") or {}).get("sheetId", 0) == sheet.id]
    if prot:
        out["protectedRanges"] = prot
    # Row and column metadata are listed under their DimensionProperties, not the sheet's.
    md = [copy.deepcopy(m) for m in ss.metadata.values()
          if m["location"]["locationType"] == "SHEET" and m["location"]["sheetId"] == sheet.id]
    if md:
        out["developerMetadata"] = md
    return out


def grid_data(ss, sheet, r0, c0, r1, c1):
    data = {}
    if r0:
        data["startRow"] = r0
    if c0:
        data["startColumn"] = c0
    rows = [[cell_data(ss, sheet, r, c) for c in range(c0, c1)] for r in range(r0, r1)]
    for row in rows:
        while row and not row[-1]:
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    if rows:
        data["rowData"] = [{"values": row} if row else {} for row in rows]
    on_rows, on_columns = _on(ss, sheet, "ROWS"), _on(ss, sheet, "COLUMNS")
    data["rowMetadata"] = [_dim_meta(sheet.row_px.get(r), defaults.DEFAULT_ROW_PX,
                                     on_rows.get(r)) for r in range(r0, r1)]
    data["columnMetadata"] = [_dim_meta(sheet.col_px.get(c), defaults.DEFAULT_COL_PX,
                                        on_columns.get(c)) for c in range(c0, c1)]
    return data


def _on(ss, sheet, dimension):
    """Row (or column) index -> the developer metadata whose dimension range covers it."""
    out = {}
    for m in ss.metadata.values():
        span = m["location"].get("dimensionRange")
        if span and span["sheetId"] == sheet.id and span["dimension"] == dimension:
            for i in range(span["startIndex"], span["endIndex"]):
                out.setdefault(i, []).append(copy.deepcopy(m))
    return out


def _dim_meta(props, px, metadata=()):
    out = {"pixelSize": px}
    out.update(copy.deepcopy(props or {}))
    if not out.get("hiddenByUser"):
        out.pop("hiddenByUser", None)  # false is the proto default: not printed
    if metadata:
        out["developerMetadata"] = list(metadata)
    return out


def cell_data(ss, sheet, r, c):
    cell = sheet.cell(r, c)
    if not cell:
        return {}
    out = copy.deepcopy(cell)
    uev = cell.get("userEnteredValue")
    if uev:
        ev = values.effective_value(cell, ss.lookup(sheet))
        if ev:
            out["effectiveValue"] = ev
        fv = values.formatted_value(ev, number_format(cell))
        out["formattedValue"] = fv or ""
        if "formulaValue" in uev and ev is None:
            out.pop("formattedValue")
    if uev or cell.get("userEnteredFormat"):
        out["effectiveFormat"] = _merge(defaults.DEFAULT_FORMAT,
                                        cell.get("userEnteredFormat") or {})
        out["effectiveFormat"].setdefault("hyperlinkDisplayType", "PLAIN_TEXT")
    return out


def _merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out
