"""Named ranges and basic filters: objects that live beside the grid and point into it
with a GridRange. Responses omit `sheetId` when it is 0, as proto3 JSON omits defaults."""
import copy
import random

from .batch import handler
from .errors import bad_request


def grid_range_out(sheet, r0, c0, r1, c1):
    out = {"sheetId": sheet.id, "startRowIndex": r0, "endRowIndex": r1,
           "startColumnIndex": c0, "endColumnIndex": c1}
    if not sheet.id:
        del out["sheetId"]
    return out


def strip_default_sheet(gr):
    """A stored GridRange as Google prints it (sheetId 0 is the proto default)."""
    out = copy.deepcopy(gr)
    if not out.get("sheetId"):
        out.pop("sheetId", None)
    return out


# --- named ranges -------------------------------------------------------------------
def find_named(ss, name):
    for nr in ss.named_ranges:
        if nr["name"].lower() == name.lower():
            return nr
    return None


def _new_named_id(ss):
    taken = {nr["namedRangeId"] for nr in ss.named_ranges}
    while True:
        nid = str(random.randint(10**8, 2**31 - 1))
        if nid not in taken:
            return nid


@handler("addNamedRange")
def add_named_range(ss, args):
    want = copy.deepcopy(args.get("namedRange") or {})
    name = want.get("name") or ""
    if not name:
        raise bad_request("Invalid requests[0].addNamedRange: Must specify a name.")
    if find_named(ss, name):
        raise bad_request(f"Invalid requests[0].addNamedRange: A named range with the name "
                          f"\"{name}\" already exists.")
    sheet, r0, c0, r1, c1 = ss.grid_range(want.get("range") or {})
    nr = {"namedRangeId": want.get("namedRangeId") or _new_named_id(ss), "name": name,
          "range": grid_range_out(sheet, r0, c0, r1, c1)}
    ss.named_ranges.append(nr)
    return {"addNamedRange": {"namedRange": copy.deepcopy(nr)}}


def _named_by_id(ss, nid, what):
    for nr in ss.named_ranges:
        if nr["namedRangeId"] == nid:
            return nr
    raise bad_request(f"Invalid requests[0].{what}: No named range with id: {nid}")


@handler("updateNamedRange")
def update_named_range(ss, args):
    from . import fieldmask
    want = args.get("namedRange") or {}
    nr = _named_by_id(ss, want.get("namedRangeId"), "updateNamedRange")
    if not args.get("fields"):
        raise bad_request("Invalid requests[0].updateNamedRange: At least one field must be "
                          "updated.")
    new = copy.deepcopy(nr)
    fieldmask.copy_masked(new, want, fieldmask.parse(args["fields"]))
    new["namedRangeId"] = nr["namedRangeId"]
    sheet, r0, c0, r1, c1 = ss.grid_range(new.get("range") or {})
    new["range"] = grid_range_out(sheet, r0, c0, r1, c1)
    nr.clear()
    nr.update(new)


@handler("deleteNamedRange")
def delete_named_range(ss, args):
    nr = _named_by_id(ss, args.get("namedRangeId"), "deleteNamedRange")
    ss.named_ranges.remove(nr)


# --- basic filter ------------------------------------------------------------------
@handler("setBasicFilter")
def set_basic_filter(ss, args):
    want = copy.deepcopy(args.get("filter") or {})
    sheet, r0, c0, r1, c1 = ss.grid_range(want.get("range") or {})
    want["range"] = grid_range_out(sheet, r0, c0, r1, c1)
    sheet.basic_filter = want


@handler("clearBasicFilter")
def clear_basic_filter(ss, args):
    sheet = ss.sheet_by_id(args.get("sheetId", 0))
    sheet.basic_filter = None
