"""Row/column insert, delete and sort — and keeping dimension-anchored developer metadata,
merges and sizes attached to the rows/columns they belong to."""
from .errors import bad_request


def _anchored(ss, sheet, dim):
    for md in list(ss.metadata.values()):
        dr = md["location"].get("dimensionRange")
        if dr and dr.get("sheetId", 0) == sheet.id and dr["dimension"] == dim:
            yield md, dr


def insert(ss, sheet, dim, start, end):
    n = end - start
    if dim == "ROWS":
        if start > sheet.row_count:
            raise bad_request(f"Invalid requests[0].insertDimension: range.startIndex ({start}) "
                              f"must be less than or equal to the number of rows "
                              f"({sheet.row_count})")
        sheet.rows[start:start] = [dict() for _ in range(n)]
        sheet.props["gridProperties"]["rowCount"] += n
    else:
        for row in sheet.rows:
            moved = {(c + n if c >= start else c): cell for c, cell in row.items()}
            row.clear()
            row.update(moved)
        sheet.props["gridProperties"]["columnCount"] += n
    for md, dr in _anchored(ss, sheet, dim):
        if dr["startIndex"] >= start:
            dr["startIndex"] += n
            dr["endIndex"] += n
        elif dr["endIndex"] > start:
            dr["endIndex"] += n  # inserted inside the anchored span: it grows
    _shift_merges(sheet, dim, lambda i: i + n if i >= start else i)
    _shift_ranges(ss, sheet, dim, lambda i: i + n if i >= start else i)
    from . import groups  # late: groups registers batch handlers, batch imports us
    groups.shift(sheet, dim, lambda i: i + n if i >= start else i)


def delete(ss, sheet, dim, start, end):
    n = end - start
    count = sheet.row_count if dim == "ROWS" else sheet.col_count
    if end > count:
        raise bad_request(f"Invalid requests[0].deleteDimension: Cannot delete a "
                          f"{'row' if dim == 'ROWS' else 'column'} that doesn't exist. Tried to "
                          f"delete {'row' if dim == 'ROWS' else 'column'} index {end - 1} "
                          f"but there are only {count} {'rows' if dim == 'ROWS' else 'columns'}.")
    if n >= count:
        raise bad_request("Invalid requests[0].deleteDimension: You can't delete all the "
                          f"{'rows' if dim == 'ROWS' else 'columns'} on the sheet.")
    if dim == "ROWS":
        del sheet.rows[start:end]
        sheet.props["gridProperties"]["rowCount"] -= n
    else:
        for row in sheet.rows:
            moved = {(c - n if c >= end else c): cell for c, cell in row.items()
                     if not start <= c < end}
            row.clear()
            row.update(moved)
        sheet.props["gridProperties"]["columnCount"] -= n
    for md, dr in _anchored(ss, sheet, dim):
        lo, hi = _shrink(dr["startIndex"], dr["endIndex"], start, end)
        if lo == hi:
            del ss.metadata[md["metadataId"]]  # its rows are gone, so is the metadata
        else:
            dr["startIndex"], dr["endIndex"] = lo, hi
    _shift_merges(sheet, dim, lambda i: start + _shrink(i, i, start, end)[0] - start)
    _shift_ranges(ss, sheet, dim, lambda i: _shrink(i, i, start, end)[0])
    from . import groups
    groups.shift(sheet, dim, lambda i: None if start <= i < end else (i - n if i >= end else i))


def _shrink(lo, hi, start, end):
    """New [lo, hi) after deleting [start, end)."""
    def move(i):
        if i <= start:
            return i
        return start if i <= end else i - (end - start)
    return move(lo), move(hi)


def _shift_ranges(ss, sheet, dim, move):
    """Named ranges and the basic filter grow, shrink and move with their rows/columns."""
    key0, key1 = ("startRowIndex", "endRowIndex") if dim == "ROWS" else \
        ("startColumnIndex", "endColumnIndex")
    spans = [nr["range"] for nr in ss.named_ranges]
    if sheet.basic_filter:
        spans.append(sheet.basic_filter["range"])
    for gr in spans:
        if gr.get("sheetId", 0) == sheet.id and key0 in gr and key1 in gr:
            gr[key0], gr[key1] = move(gr[key0]), move(gr[key1])


def _shift_merges(sheet, dim, move):
    key0, key1 = ("startRowIndex", "endRowIndex") if dim == "ROWS" else \
        ("startColumnIndex", "endColumnIndex")
    kept = []
    for m in sheet.merges:
        m[key0], m[key1] = move(m[key0]), move(m[key1])
        if m[key1] - m[key0] > 0:
            kept.append(m)
    sheet.merges = kept


def sort_rows(ss, sheet, r0, c0, r1, c1, specs):
    """sortRange. Cells move with their formats and notes. Google does not document what
    happens to row-anchored developer metadata on sort; we choose 'follows the row': a
    single-row anchor inside the sorted block moves to the row's new position."""
    block = [{c: sheet.rows[r].pop(c) for c in range(c0, c1) if c in sheet.rows[r]}
             for r in range(r0, r1)]
    order = list(range(len(block)))
    for spec in reversed(specs):  # stable sorts applied last-key-first
        col = spec.get("dimensionIndex", spec.get("dataSourceColumnReference", 0))
        desc = spec.get("sortOrder", "ASCENDING") == "DESCENDING"
        lookup = ss.lookup(sheet)
        keyed = {i: _sort_key(block[i].get(col), lookup) for i in order}
        present = [i for i in order if keyed[i] is not None]
        blanks = [i for i in order if keyed[i] is None]
        present.sort(key=lambda i: keyed[i], reverse=desc)
        order = present + blanks  # blanks always sort last
    for new_pos, old in enumerate(order):
        sheet.rows[r0 + new_pos].update(block[old])
    moves = {r0 + old: r0 + new for new, old in enumerate(order)}
    for md, dr in _anchored(ss, sheet, "ROWS"):
        if dr["endIndex"] - dr["startIndex"] == 1 and dr["startIndex"] in moves:
            dr["startIndex"] = moves[dr["startIndex"]]
            dr["endIndex"] = dr["startIndex"] + 1


def _sort_key(cell, lookup):
    from . import values
    if not cell or not cell.get("userEnteredValue"):
        return None
    ev = values.effective_value(cell, lookup) or {}
    if "numberValue" in ev:
        return (0, ev["numberValue"], "")
    if "stringValue" in ev:
        return (1, 0, ev["stringValue"].lower())
    if "boolValue" in ev:
        return (2, int(ev["boolValue"]), "")
    return (3, 0, "")
