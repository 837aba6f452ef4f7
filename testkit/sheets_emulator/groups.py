"""Row/column groups (addDimensionGroup & co).

A sheet keeps, per dimension, a depth counter for every index it has touched: adding a group
over [s, e) adds one level there, deleting removes one. The groups Google reports are then
the maximal runs of indices with depth >= k, each reported at depth k — which reproduces the
documented rules (a superset pushes the inner group one level deeper, overlaps merge, ...).
"""
from .batch import _dim_range, handler


def _depths(sheet, dim):
    return sheet.groups.setdefault(dim, {"depth": {}, "collapsed": set()})


def list_groups(sheet, dim):
    """The DimensionGroup list Google prints for `rowGroups`/`columnGroups`."""
    g = sheet.groups.get(dim)
    if not g or not g["depth"]:
        return []
    depth = g["depth"]
    out = []
    for k in range(1, max(depth.values()) + 1):
        run = None
        for i in sorted(depth) + [None]:
            if i is not None and depth[i] >= k and run and run[1] == i:
                run[1] = i + 1
                continue
            if run:
                out.append(_group(sheet, dim, run[0], run[1], k, g["collapsed"]))
                run = None
            if i is not None and depth[i] >= k:
                run = [i, i + 1]
    out.sort(key=lambda x: (x["range"]["startIndex"], x["depth"]))
    return out


def _group(sheet, dim, start, end, depth, collapsed):
    rng = {"sheetId": sheet.id, "dimension": dim, "startIndex": start, "endIndex": end}
    if not sheet.id:
        del rng["sheetId"]
    out = {"range": rng, "depth": depth}
    if (start, end, depth) in collapsed:
        out["collapsed"] = True
    return out


@handler("addDimensionGroup")
def add_dimension_group(ss, args):
    sheet, dim, start, end = _dim_range(ss, args, "addDimensionGroup")
    d = _depths(sheet, dim)["depth"]
    # Recorded: the first group switches the +/- control to after the group.
    gp = sheet.props["gridProperties"]
    gp["rowGroupControlAfter" if dim == "ROWS" else "columnGroupControlAfter"] = True
    for i in range(start, end):
        d[i] = d.get(i, 0) + 1
    return {"addDimensionGroup": _reply(sheet, dim)}


@handler("deleteDimensionGroup")
def delete_dimension_group(ss, args):
    sheet, dim, start, end = _dim_range(ss, args, "deleteDimensionGroup")
    g = _depths(sheet, dim)
    if not all(g["depth"].get(i) for i in range(start, end)):
        from .errors import bad_request
        raise bad_request("Invalid requests[0].deleteDimensionGroup: The requested range does "
                          "not match any group.")
    for i in range(start, end):
        g["depth"][i] -= 1
        if not g["depth"][i]:
            del g["depth"][i]
    return {"deleteDimensionGroup": _reply(sheet, dim)}


def _reply(sheet, dim):
    groups = list_groups(sheet, dim)
    return {"dimensionGroups": groups} if groups else {}


@handler("updateDimensionGroup")
def update_dimension_group(ss, args):
    dg = args.get("dimensionGroup") or {}
    sheet, dim, start, end = _dim_range(ss, dg, "updateDimensionGroup")
    key = (start, end, dg.get("depth", 1))
    collapsed = _depths(sheet, dim)["collapsed"]
    if dg.get("collapsed"):
        collapsed.add(key)
    else:
        collapsed.discard(key)


def shift(sheet, dim, move):
    """Keep group depths attached to their rows/columns when some are inserted/deleted;
    `move(i)` gives an index's new position, or None when it was deleted."""
    g = sheet.groups.get(dim)
    if not g:
        return
    moved = {}
    for i, d in g["depth"].items():
        j = move(i)
        if j is not None:
            moved[j] = d
    g["depth"] = moved
