"""Google's own descriptions of Sheets API v4 and Drive API v3 (the discovery documents shipped
with google-api-python-client) as a request checker: the method, its query parameters, every field
of the JSON body (names, types, enum values) and every field mask, as Google checks them.

The emulator rejects what this finds, with Google's wording; tests also run it over the request
log to prove what our code sends is valid Sheets v4.
"""
from __future__ import annotations

import functools
import json
import os
import re

import googleapiclient

from . import fieldmask
from .errors import bad_request, field_violation

DOCUMENTS = os.path.join(os.path.dirname(googleapiclient.__file__), "discovery_cache", "documents")
DOCUMENT = os.path.join(DOCUMENTS, "sheets.v4.json")
# API → its document; a method's path is its servicePath plus flatPath (Sheets: "" + "v4/...",
# Drive: "drive/v3/" + "files/{fileId}/permissions").
APIS = {"sheets": DOCUMENT, "drive": os.path.join(DOCUMENTS, "drive.v3.json")}

# A batchUpdate sub-request's `fields` masks this property of the same sub-request.
MASKED_PROPERTY = {"repeatCell": "cell", "updateCells": "rows.values",
                   "updateSheetProperties": "properties",
                   "updateSpreadsheetProperties": "properties",
                   "updateDimensionProperties": "properties",
                   "updateDeveloperMetadata": "developerMetadata",
                   "updateNamedRange": "namedRange", "updateProtectedRange": "protectedRange",
                   "updateBanding": "bandedRange", "updateFilterView": "filter",
                   "updateEmbeddedObjectPosition": "newPosition",
                   "updateDimensionGroup": "dimensionGroup", "updateSlicerSpec": "spec",
                   "updateTable": "table", "updateDataSource": "dataSource",
                   "updateEmbeddedObjectBorder": "border", "updateChartSpec": "spec"}
INTEGER = re.compile(r"^-?\d+$")


@functools.cache
def document(api: str = "sheets") -> dict:
    with open(APIS[api], encoding="utf-8") as f:
        return json.load(f)


@functools.cache
def methods(api: str = "sheets") -> list[tuple[str, re.Pattern, dict]]:
    """(HTTP method, path pattern, method description) for every method of the API."""
    out = []
    root = "/" + document(api).get("servicePath", "")

    def walk(resource):
        for method in resource.get("methods", {}).values():
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+",
                             re.escape(root + method["flatPath"].replace("{+", "{")))
            out.append((method["httpMethod"], re.compile(pattern + "$"), method))
        for sub in resource.get("resources", {}).values():
            walk(sub)
    for resource in document(api)["resources"].values():
        walk(resource)
    # The most specific pattern first: ".../values/{range}:append" before ".../values/{range}".
    return sorted(out, key=lambda m: -len(m[1].pattern))


@functools.cache
def _every_parameter(api: str) -> frozenset[str]:
    """Every query parameter name some method of the API takes."""
    return frozenset(name for _, _, method in methods(api) for name in method.get("parameters", {}))


def find_method(http_method: str, path: str, api: str = "sheets") -> dict:
    for verb, pattern, method in methods(api):
        if verb == http_method and pattern.match(path):
            return method
    raise bad_request(f"Method not found: {http_method} {path}")


def check_request(http_method: str, path: str, query: dict[str, list[str]], body,
                  api: str = "sheets") -> None:
    """Raise a 400 ApiError for anything the API (Sheets v4, Drive v3) would refuse here."""
    method = find_method(http_method, path, api)
    allowed = set(method.get("parameters", {})) | set(document(api)["parameters"])
    for name, values in query.items():
        if name not in allowed and api == "drive" and name in _every_parameter("drive"):
            # Drive lets a parameter of another of its methods pass: the real service answered
            # 200 to files.get with includeItemsFromAllDrives (a files.list parameter), in
            # ../shared/sheets-cassettes/WorksheetTest.test_append_row.json (gspread's call).
            continue
        if name not in allowed:
            raise bad_request(f"Invalid JSON payload received. Unknown name \"{name}\": "
                              f"Cannot bind query parameter. Field '{name}' could not be found "
                              f"in request message.")
        spec = method.get("parameters", {}).get(name) or document(api)["parameters"][name]
        for value in values:
            _check_scalar(spec, value, name, query_text=True)
            if name == "fields":
                response = (method.get("response") or {}).get("$ref")
                if response:
                    check_mask(response, value, "fields", api)
    ref = (method.get("request") or {}).get("$ref")
    if ref and body is not None:
        # Google names the body of values.update/append after its proto field, `data`.
        check_object(ref, body, "data" if ref == "ValueRange" else "", api)


def check_object(schema_name: str, value, where: str, api: str = "sheets") -> None:
    schema = document(api)["schemas"][schema_name]
    if not isinstance(value, dict):
        raise _invalid(where or schema_name, schema_name, value)
    properties = schema.get("properties", {})
    for name, item in value.items():
        here = f"{where}.{name}" if where else name
        if name not in properties:
            raise bad_request(f"Invalid JSON payload received. Unknown name \"{name}\" at "
                              f"'{where}': Cannot find field." if where else
                              f"Invalid JSON payload received. Unknown name \"{name}\": "
                              f"Cannot find field.")
        _check_value(properties[name], item, here, api)
    if api != "sheets":
        return
    for kind, property_path in MASKED_PROPERTY.items():
        if schema_name == _request_schema(kind) and isinstance(value.get("fields"), str):
            check_mask(_target_schema(schema_name, property_path), value["fields"],
                       f"{where}.fields" if where else "fields")


def _request_schema(kind: str) -> str | None:
    prop = document()["schemas"]["Request"]["properties"].get(kind)
    return (prop or {}).get("$ref")


def _target_schema(schema_name: str, property_path: str) -> str:
    schema = document()["schemas"][schema_name]
    for step in property_path.split("."):
        prop = schema["properties"][step]
        prop = prop.get("items", prop)
        schema_name = prop["$ref"]
        schema = document()["schemas"][schema_name]
    return schema_name


def _check_value(spec: dict, value, where: str, api: str = "sheets") -> None:
    if value is None:
        return  # JSON null is "not set" for proto3
    if "$ref" in spec:
        check_object(spec["$ref"], value, where, api)
    elif spec.get("type") == "array":
        if not isinstance(value, list):
            raise _invalid(where, "type.googleapis.com/google.protobuf.ListValue", value)
        for i, item in enumerate(value):
            _check_value(spec["items"], item, f"{where}[{i}]", api)
    elif spec.get("type") == "object":
        if not isinstance(value, dict):
            raise _invalid(where, "google.protobuf.Struct", value)
        extra = spec.get("additionalProperties")
        for key, item in value.items():
            if extra:
                _check_value(extra, item, f"{where}[{key}]", api)
    else:
        _check_scalar(spec, value, where)


def _check_scalar(spec: dict, value, where: str, query_text: bool = False) -> None:
    kind = spec.get("type")
    if spec.get("enum") and value not in spec["enum"]:
        raise _invalid(where, "TYPE_ENUM", value)
    if kind == "integer":
        ok = (INTEGER.match(value) if query_text else
              isinstance(value, int) and not isinstance(value, bool)
              or isinstance(value, str) and INTEGER.match(value))
        if not ok:
            raise _invalid(where, "TYPE_INT32", value)
    elif kind == "number":
        if not query_text and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise _invalid(where, "TYPE_DOUBLE", value)
    elif kind == "boolean":
        ok = value.lower() in ("true", "false") if query_text else isinstance(value, bool)
        if not ok:
            raise _invalid(where, "TYPE_BOOL", value)
    elif kind == "string" and not query_text and not isinstance(value, str):
        raise _invalid(where, "TYPE_STRING", value)


def _invalid(where: str, kind: str, value):
    return field_violation(where, f"Invalid value at '{where}' ({kind}), {json.dumps(value)}")


def check_mask(schema_name: str, mask: str, where: str, api: str = "sheets") -> None:
    """Every path of a field mask must name a field of the schema ("*" stands for all)."""
    tree = fieldmask.parse(mask)
    for path in fieldmask.leaf_paths(tree):
        schema = document(api)["schemas"][schema_name]
        for step in path:
            if step == "*":
                break
            prop = schema.get("properties", {}).get(step)
            if prop is None:
                raise bad_request(f"Invalid field mask at '{where}': \"{'.'.join(path)}\": "
                                  f"no field \"{step}\" in {schema.get('id')}.")
            prop = prop.get("items", prop)
            schema = document(api)["schemas"].get(prop.get("$ref", ""), {})
