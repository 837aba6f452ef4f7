"""Developer metadata: create/delete/search, lookups, and data filters -> grid ranges."""
import copy

from .errors import bad_request

LOOKUP_KEYS = ("metadataId", "metadataKey", "metadataValue", "visibility")
VISIBILITIES = ("DOCUMENT", "PROJECT")
# Google limits the characters of metadata (keys plus values) per sheet AND per spreadsheet (the
# metadata guide, developers.google.com/sheets/api/guides/metadata, "About developer metadata":
# the total size of metadata a spreadsheet and each sheet may hold is limited); Google publishes
# no figure: 30,000 characters is the one quoted by third parties (../shared/reference/google.md),
# used for both here, so two sheets cannot double it.
MAX_CHARACTERS = 30_000
CREATE = "Invalid requests[0].createDeveloperMetadata: "


def location_for(ss, loc):
    """Normalise a requested DeveloperMetadataLocation into the stored/returned shape."""
    if loc.get("dimensionRange"):
        dr = dict(loc["dimensionRange"])
        sheet = ss.sheet_by_id(dr.get("sheetId", 0))
        dim = dr.get("dimension")
        if dim not in ("ROWS", "COLUMNS"):
            raise bad_request(CREATE + "dimensionRange.dimension must be specified")
        count = sheet.row_count if dim == "ROWS" else sheet.col_count
        dr.setdefault("startIndex", 0)
        if dr.get("endIndex") is None:
            raise bad_request(CREATE + "dimensionRange must be bounded (set endIndex)")
        if not 0 <= dr["startIndex"] < dr["endIndex"] <= count:
            raise bad_request(CREATE + f"dimensionRange [{dr['startIndex']}, {dr['endIndex']}) "
                              f"is outside the sheet (size {count})")
        dr["sheetId"] = sheet.id
        return {"locationType": "ROW" if dim == "ROWS" else "COLUMN", "dimensionRange": dr}
    if "sheetId" in loc:
        ss.sheet_by_id(loc["sheetId"])
        return {"locationType": "SHEET", "sheetId": loc["sheetId"]}
    if loc.get("spreadsheet"):
        return {"locationType": "SPREADSHEET", "spreadsheet": True}
    raise bad_request(CREATE + "location must be specified")


def create(ss, md):
    md = copy.deepcopy(md)
    if not md.get("metadataKey"):
        raise bad_request(CREATE + "developerMetadata.metadataKey must be specified")
    if md.get("visibility") not in VISIBILITIES:
        raise bad_request(CREATE + "developerMetadata.visibility must be DOCUMENT or PROJECT")
    mid = md.get("metadataId") or ss.new_metadata_id()
    if mid in ss.metadata:
        raise bad_request(f"Invalid requests[0].createDeveloperMetadata: "
                          f"Developer metadata with ID {mid} already exists.")
    md["metadataId"] = mid
    md["location"] = location_for(ss, md.get("location") or {})
    ss.metadata[mid] = md
    check_size(ss, md)
    return copy.deepcopy(md)


def sheet_of(md):
    """The sheet id an entry lives on (sheet, row or column), or None for the spreadsheet's."""
    loc = md["location"]
    return (loc.get("dimensionRange") or {}).get("sheetId", loc.get("sheetId"))


def check_size(ss, md):
    """Refuse a create or update that takes its sheet (or the spreadsheet) over the limit."""
    where = sheet_of(md)
    sizes = [(sheet_of(m), len(m.get("metadataKey") or "") + len(m.get("metadataValue") or ""))
             for m in ss.metadata.values()]
    for place, used in ((f"sheet {where}" if where is not None else "spreadsheet",
                         sum(size for sheet, size in sizes if sheet == where)),
                        ("spreadsheet", sum(size for _, size in sizes))):
        if used > MAX_CHARACTERS:
            raise bad_request(f"Invalid requests[0].createDeveloperMetadata: the developer "
                              f"metadata of {place} would hold {used} characters; the limit is "
                              f"{MAX_CHARACTERS}.")


def matches(ss, md, lookup):
    for key in LOOKUP_KEYS:
        if key in lookup and md.get(key) != lookup[key]:
            return False
    loc = md["location"]
    if "locationType" in lookup and loc["locationType"] != lookup["locationType"]:
        return False
    if "metadataLocation" in lookup:
        want = location_for(ss, lookup["metadataLocation"])
        # Google: without a strategy a lookup matches INTERSECTING locations.
        if lookup.get("locationMatchingStrategy", "INTERSECTING_LOCATION") \
                == "INTERSECTING_LOCATION":
            return _intersects(loc, want)
        return loc == want
    return True


def _intersects(have, want):
    if have == want:
        return True
    a, b = have.get("dimensionRange"), want.get("dimensionRange")
    if a and b:
        return (a["sheetId"] == b["sheetId"] and a["dimension"] == b["dimension"]
                and a["startIndex"] < b["endIndex"] and b["startIndex"] < a["endIndex"])
    if a and want.get("locationType") == "SHEET":
        return a["sheetId"] == want["sheetId"]
    return want.get("locationType") == "SPREADSHEET"


def find(ss, data_filter):
    lookup = data_filter.get("developerMetadataLookup")
    if lookup is None:
        return []
    return [md for md in ss.metadata.values() if matches(ss, md, lookup)]


def search(ss, data_filters):
    out = []
    for md in ss.metadata.values():
        hit = [f for f in data_filters if md in find(ss, f)]
        if hit:
            out.append({"developerMetadata": copy.deepcopy(md), "dataFilters": hit})
    return out


def resolve_filter(ss, data_filter):
    """DataFilter -> [(sheet, r0, c0, r1, c1)]. A row anchor addresses that whole row."""
    if "a1Range" in data_filter:
        return [ss.resolve(data_filter["a1Range"])[:5]]
    if "gridRange" in data_filter:
        return [ss.grid_range(data_filter["gridRange"])]
    out = []
    for md in find(ss, data_filter):
        loc = md["location"]
        if "dimensionRange" in loc:
            dr = loc["dimensionRange"]
            sheet = ss.sheet_by_id(dr["sheetId"])
            if dr["dimension"] == "ROWS":
                out.append((sheet, dr["startIndex"], 0, dr["endIndex"], sheet.col_count))
            else:
                out.append((sheet, 0, dr["startIndex"], sheet.row_count, dr["endIndex"]))
        elif loc["locationType"] == "SHEET":
            sheet = ss.sheet_by_id(loc["sheetId"])
            out.append((sheet, 0, 0, sheet.row_count, sheet.col_count))
    return out
