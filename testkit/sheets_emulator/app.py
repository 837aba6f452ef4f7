"""Flask app: routes for Sheets v4 and the Drive v3 file calls; auth, quota, log, faults."""
import copy
import json
import time

from flask import Flask, Response, request

from . import batch, discovery, metadata, render, valuesapi
from .control import Emulator, request_kind
from .errors import ApiError, bad_request

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
# What Google answers a token it cannot map to anyone (expired, revoked, made up).
INVALID_CREDENTIALS = ("Request had invalid authentication credentials. Expected OAuth 2 access "
                       "token, login cookie or other valid authentication credential. See "
                       "https://developers.google.com/identity/sign-in/web/devconsole-project.")


def _json(body, status=200):
    return Response(json.dumps(body, ensure_ascii=False, indent=2) + "\n", status=status,
                    mimetype="application/json; charset=UTF-8")


def create_app(emulator_state=None):
    emu = emulator_state if isinstance(emulator_state, Emulator) else Emulator(emulator_state)
    app = Flask("sheets_emulator")
    app.config["EMULATOR"] = emu

    @app.route("/v4/spreadsheets/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
    def sheets(rest):
        return _handle(emu, lambda token: _sheets_call(emu, token, rest), quota=True,
                       described=True)

    @app.route("/drive/v3/files", methods=["GET", "POST"])
    @app.route("/drive/v3/files/<path:rest>", methods=["GET", "DELETE", "POST", "PATCH"])
    def drive(rest=""):
        return _handle(emu, lambda token: _drive_call(emu, token, rest), quota=False,
                       described="drive")

    @app.route("/v4/spreadsheets", methods=["POST"])
    def create_spreadsheet():
        def call(token):
            body = _body()
            title = (body.get("properties") or {}).get("title") or "Untitled spreadsheet"
            ss = emu.state.create(title, owner_token=token)
            return render.spreadsheet(ss, {})
        return _handle(emu, call, quota=True, described=True)

    return app


def _handle(emu, call, quota, described=False):
    """Common wrapper: latency, auth, fault injection, quota, Sheets v4 request checks (against
    Google's discovery document), state lock, log record."""
    if emu.latency:
        time.sleep(emu.latency)
    kind = request_kind(request.method, request.path)
    token = _token()
    status = 500
    try:
        if token is None or not emu.state.knows(token):
            raise ApiError(401, None if token is None else INVALID_CREDENTIALS)
        injected = emu.take_injected(request.full_path)
        if injected:
            raise injected
        if quota:
            emu.charge_quota(token, kind)
        if described:
            discovery.check_request(request.method, request.path, request.args.to_dict(flat=False),
                                    _body() if request.method in ("POST", "PUT", "PATCH") else None,
                                    "drive" if described == "drive" else "sheets")
        with emu.state.lock:
            result = call(token)
        if isinstance(result, Response):
            status = result.status_code
            return result
        status = 200
        return _json(result)
    except ApiError as e:
        status = e.code
        answer = _json(e.body(), e.code)
        answer.headers.update(e.headers)
        return answer
    finally:
        emu.record(method=request.method, path=request.path, query=request.query_string.decode(),
                   args=request.args.to_dict(flat=False), body=_logged_body(), token=token,
                   status=status, kind=kind, time=time.time())


def _logged_body():
    try:
        return json.loads(request.data) if request.data else None
    except ValueError:
        return request.data.decode("utf-8", "replace")


def _token():
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return auth[7:].strip()
    return None


def _body():
    if not request.data:
        return {}
    try:
        body = json.loads(request.data)
    except ValueError:
        raise bad_request("Invalid JSON payload received.")
    if not isinstance(body, dict):
        raise bad_request("Invalid JSON payload received. Expected an object.")
    return body


# --- Sheets ------------------------------------------------------------------------
def _sheets_call(emu, token, rest):
    sid, sep, tail = _split_id(rest)
    ss = emu.state.get(sid, token)
    m, params = request.method, request.args
    if tail == "" and m == "GET":
        return render.spreadsheet(ss, params, params.getlist("ranges"))
    if tail == ":batchUpdate" and m == "POST":
        return batch.run(emu.state, ss, _body())
    if tail == ":getByDataFilter" and m == "POST":
        body = _body()
        ranges = [_a1_of(t) for f in body.get("dataFilters") or []
                  for t in metadata.resolve_filter(ss, f)]
        p = {"includeGridData": str(body.get("includeGridData", False)), **params}
        return render.spreadsheet(ss, p, ranges)
    if tail.startswith("/sheets/") and tail.endswith(":copyTo") and m == "POST":
        return _copy_to(emu, ss, tail[len("/sheets/"):-len(":copyTo")], token)
    if tail.startswith("/values"):
        return _values_call(emu.state, ss, tail[len("/values"):], m, params)
    if tail.startswith("/developerMetadata"):
        return _metadata_call(ss, tail[len("/developerMetadata"):], m)
    raise ApiError(404, "Method not found.")


def _copy_to(emu, ss, sheet_id, token):
    """spreadsheets.sheets.copyTo: the sheet lands last in the destination as
    "Copy of <title>"; the reply is its SheetProperties."""
    import copy
    try:
        src = ss.sheet_by_id(int(sheet_id))
    except ValueError:
        raise ApiError(400, f"Invalid value at 'sheet_id' (TYPE_INT32), \"{sheet_id}\"")
    dest_id = _body().get("destinationSpreadsheetId")
    if not dest_id:
        raise bad_request("Invalid destinationSpreadsheetId")
    dest = emu.state.get(dest_id, token)
    new = copy.deepcopy(src)
    new.props["sheetId"] = dest.new_sheet_id()
    title, n = f"Copy of {src.title}", 2
    while dest.sheet_by_title(title):
        title, n = f"Copy of {src.title} {n}", n + 1
    new.props["title"] = title
    dest.sheets.append(new)
    dest.reindex()
    dest.touch()
    return copy.deepcopy(new.props)


def _split_id(rest):
    for i, ch in enumerate(rest):
        if ch in "/:":
            return rest[:i], ch, rest[i:]
    return rest, "", ""


def _a1_of(target):
    from . import a1
    sheet, r0, c0, r1, c1 = target
    return a1.format_range(sheet.title, r0, c0, r1, c1)


def _all_or_nothing(state, ss, change):
    """Google applies a request as a whole (spreadsheets.batchUpdate reference: "If any request
    is not valid, then the entire request will fail and nothing will be applied"), and the
    values batch methods behave the same: one bad range answers 400 and writes nothing, what
    issue 21 measured against Google. The change runs on a copy that replaces the original
    only when every part succeeded."""
    work = copy.deepcopy(ss)
    result = change(work)
    state.replace(work)
    return result


def _values_call(state, ss, tail, m, params):
    body = _body() if m in ("POST", "PUT") else {}
    simple = {":batchGet": lambda: valuesapi.batch_get(ss, params.getlist("ranges"), params),
              ":batchUpdate": lambda: _all_or_nothing(
                  state, ss, lambda work: valuesapi.batch_update(work, body)),
              ":batchClear": lambda: {"spreadsheetId": ss.id, "clearedRanges": [
                  valuesapi.clear(ss, r) for r in body.get("ranges") or []]},
              ":batchGetByDataFilter": lambda: _batch_get_by_filter(ss, body),
              ":batchUpdateByDataFilter": lambda: _all_or_nothing(
                  state, ss, lambda work: valuesapi.batch_update(
                      work, body, by_filter=True, resolve_filter=metadata.resolve_filter)),
              ":batchClearByDataFilter": lambda: _batch_clear_by_filter(ss, body)}
    if tail in simple:
        return simple[tail]()
    if not tail.startswith("/"):
        raise ApiError(404, "Method not found.")
    rng = tail[1:]
    if rng.endswith(":append") and m == "POST":
        return valuesapi.append(ss, rng[:-len(":append")], body, params)
    if rng.endswith(":clear") and m == "POST":
        return {"spreadsheetId": ss.id, "clearedRange": valuesapi.clear(ss, rng[:-len(":clear")])}
    if m == "GET":
        return valuesapi.get(ss, rng, params)
    if m == "PUT":
        return valuesapi.update(ss, rng, body, params)
    raise ApiError(404, "Method not found.")


def _batch_get_by_filter(ss, body):
    params = {k: body.get(k) for k in ("majorDimension", "valueRenderOption",
                                       "dateTimeRenderOption")}
    out = []
    for f in body.get("dataFilters") or []:
        for sheet, r0, c0, r1, c1 in metadata.resolve_filter(ss, f):
            out.append({"valueRange": valuesapi.value_range(ss, sheet, r0, c0, r1, c1, params),
                        "dataFilters": [f]})
    resp = {"spreadsheetId": ss.id}
    if out:
        resp["valueRanges"] = out
    return resp


def _batch_clear_by_filter(ss, body):
    cleared = [valuesapi.clear(ss, _a1_of(t)) for f in body.get("dataFilters") or []
               for t in metadata.resolve_filter(ss, f)]
    return {"spreadsheetId": ss.id, "clearedRanges": cleared}


def _metadata_call(ss, tail, m):
    if tail == ":search" and m == "POST":
        found = metadata.search(ss, _body().get("dataFilters") or [])
        return {"matchedDeveloperMetadata": found} if found else {}
    if tail.startswith("/") and m == "GET":
        try:
            md = ss.metadata.get(int(tail[1:]))
        except ValueError:
            md = None
        if md is None:
            raise ApiError(404, f"No developer metadata with ID: {tail[1:]}")
        return md
    raise ApiError(404, "Method not found.")


# --- Drive -------------------------------------------------------------------------
def _drive_error(file_id):
    message = f"File not found: {file_id}."
    e = ApiError(404, message)
    e.body = lambda: {"error": {"code": 404, "message": message, "errors": [
        {"message": message, "domain": "global", "reason": "notFound",
         "location": "fileId", "locationType": "parameter"}]}}
    return e


def _file(ss):
    return {"kind": "drive#file", "id": ss.id, "name": ss.properties["title"],
            "mimeType": SPREADSHEET_MIME, "createdTime": ss.created,
            "modifiedTime": ss.modified}


def _pick(resource, fields):
    if not fields:
        return {k: resource[k] for k in ("kind", "id", "name", "mimeType")}
    from . import fieldmask
    return fieldmask.apply(resource, fieldmask.parse(fields))


def _drive_call(emu, token, rest):
    m, fields = request.method, request.args.get("fields")
    if rest == "" and m == "POST":
        body = _body()
        ss = emu.state.create(body.get("name") or "Untitled spreadsheet", owner_token=token)
        return _pick(_file(ss), fields)
    if rest == "" and m == "GET":
        return _drive_list(emu, token, fields)
    file_id, _, sub = rest.partition("/")
    try:
        ss = emu.state.get(file_id, token)
    except ApiError as e:
        raise _drive_error(file_id) if e.code == 404 else e
    if sub == "" and m == "GET":
        return _pick(_file(ss), fields)
    if sub == "" and m == "DELETE":
        del emu.state.spreadsheets[file_id]
        return Response(status=204)
    if sub == "" and m == "PATCH":
        name = _body().get("name")
        if name:
            ss.properties["title"] = name
        return _pick(_file(ss), fields)
    if sub == "copy" and m == "POST":
        return _pick(_file(_copy(emu, ss, _body(), token)), fields)
    if sub == "comments" and m == "GET":
        from . import fieldmask
        return fieldmask.apply({"kind": "drive#commentList", "comments": []},
                               fieldmask.parse(fields or "comments,kind"))
    if sub == "export" and m == "GET":
        return _export(ss, request.args.get("mimeType", ""))
    if sub == "permissions" and m == "POST":
        body = _body()
        if body.get("emailAddress"):
            ss.shared_with.add(body["emailAddress"])
        perm = {"kind": "drive#permission",
                "id": str(abs(hash(body.get("emailAddress") or body.get("domain")))),
                "type": body.get("type", "user"), "role": body.get("role", "reader")}
        ss.permissions = [p for p in ss.permissions if p["id"] != perm["id"]]
        ss.permissions.append(dict(perm, **{k: body[k] for k in ("emailAddress", "domain")
                                            if body.get(k)}))
        return perm
    if sub == "permissions" and m == "GET":
        from . import fieldmask
        body = {"kind": "drive#permissionList", "permissions": list(ss.permissions)}
        return fieldmask.apply(body, fieldmask.parse(fields or ""))
    if sub.startswith("permissions/") and m == "DELETE":
        pid = sub[len("permissions/"):]
        if not any(p["id"] == pid for p in ss.permissions):
            raise ApiError(404, f"Permission not found: {pid}.")
        ss.permissions = [p for p in ss.permissions if p["id"] != pid]
        return Response(status=204)
    raise ApiError(404, "Method not found.")


def _copy(emu, ss, body, token):
    """files.copy: a new spreadsheet with the same content, named "Copy of <title>" unless
    a name is given."""
    import copy as _copy_mod
    new = emu.state.create(body.get("name") or f"Copy of {ss.properties['title']}",
                           owner_token=token)
    title = new.properties["title"]
    for attr in ("properties", "sheets", "metadata", "protected", "named_ranges"):
        setattr(new, attr, _copy_mod.deepcopy(getattr(ss, attr)))
    new.properties["title"] = title
    return new


def _export(ss, mime):
    """files.export: CSV/TSV of the first sheet's formatted values is reproducible; binary
    formats (PDF, XLSX, ODS, ZIP) are not, so they are refused as unsupported here."""
    import csv
    import io
    seps = {"text/csv": ",", "text/tab-separated-values": "\t"}
    if mime not in seps:
        raise ApiError(400, f"Export of {mime or 'this format'} is not supported by the "
                            f"emulator.")
    sheet = ss.sheets[0]
    rows = [[ss.render_cell(sheet, r, c, "FORMATTED_VALUE") for c in range(sheet.col_count)]
            for r in range(sheet.row_count)]
    rows = valuesapi._trim(rows)
    width = max((len(r) for r in rows), default=0)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=seps[mime], lineterminator="\r\n")
    for r in rows:
        writer.writerow(list(r) + [""] * (width - len(r)))
    return Response(out.getvalue()[:-2], status=200, mimetype=mime)


def _drive_list(emu, token, fields):
    import re
    q = request.args.get("q", "")
    name = re.search(r"name\s*=\s*'((?:[^'\\]|\\.)*)'", q)
    files = [_file(ss) for ss in emu.state.spreadsheets.values()
             if not name or ss.properties["title"] == name.group(1).replace("\\'", "'")]
    body = {"kind": "drive#fileList", "incompleteSearch": False, "files": files}
    if not fields:
        body["files"] = [_pick(f, None) for f in files]
        return body
    from . import fieldmask
    return fieldmask.apply(body, fieldmask.parse(fields.replace(" ", "")))
