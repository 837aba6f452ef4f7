"""Replay recorded Google traffic (vcrpy JSON cassettes) against a fresh emulator and compare.

    python -m testkit.sheets_emulator.replay FILE_OR_DIR...   (from the checkout root)

Ids the emulator generates (spreadsheet ids, sheetIds, metadataIds, protectedRangeIds) are
learned where a recorded response first shows them and rewritten in later requests; times
(createdTime/modifiedTime) are normalised. Prints one line per mismatch, then
`replayed: N/M interactions match`; exit status 0 only if everything matched.
"""
import json
import os
import sys

import requests

from testkit.sheets_emulator.server import EmulatorServer

# The recordings sit beside the checkout, in ../shared/sheets-cassettes.
DEFAULT_CASSETTES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                 "shared", "sheets-cassettes")

ID_KEYS = {"id", "spreadsheetId", "sheetId", "metadataId", "protectedRangeId", "namedRangeId"}
TIME_KEYS = {"createdTime", "modifiedTime"}
HOSTS = ("https://sheets.googleapis.com", "https://www.googleapis.com")


class IdMap:
    def __init__(self):
        self.map = {}

    def learn(self, recorded, actual):
        """Walk recorded and emulator JSON in parallel, pairing up generated ids."""
        if isinstance(recorded, dict) and isinstance(actual, dict):
            for k, v in recorded.items():
                if k in ID_KEYS and k in actual and not isinstance(v, (dict, list)):
                    if v != actual[k] and v not in self.map:
                        self.map[v] = actual[k]
                elif k in actual:
                    self.learn(v, actual[k])
        elif isinstance(recorded, list) and isinstance(actual, list):
            for a, b in zip(recorded, actual):
                self.learn(a, b)

    def text(self, s):
        for old, new in self.map.items():
            if isinstance(old, str) and len(old) > 8:
                s = s.replace(old, str(new))
        return s

    def json(self, obj, key=None):
        if isinstance(obj, dict):
            return {k: self.json(v, k) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.json(v, key) for v in obj]
        if key in TIME_KEYS:
            return "<time>"
        if key in ID_KEYS and obj in self.map and not isinstance(obj, bool):
            return self.map[obj]
        if isinstance(obj, str):
            return self.text(obj)
        return obj


def first_difference(expected, actual, path="$"):
    if isinstance(expected, dict) and isinstance(actual, dict):
        for k in list(expected) + [k for k in actual if k not in expected]:
            if k not in actual:
                return f"{path}.{k}: missing (expected {short(expected[k])})"
            if k not in expected:
                return f"{path}.{k}: unexpected {short(actual[k])}"
            diff = first_difference(expected[k], actual[k], f"{path}.{k}")
            if diff:
                return diff
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for i, (a, b) in enumerate(zip(expected, actual)):
            diff = first_difference(a, b, f"{path}[{i}]")
            if diff:
                return diff
        if len(expected) != len(actual):
            return f"{path}: length {len(actual)} != expected {len(expected)}"
        return None
    if expected != actual or type(expected) is bool and type(actual) is not bool:
        return f"{path}: {short(actual)} != expected {short(expected)}"
    return None


def short(v):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) < 120 else s[:117] + "..."


def _parse(text):
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _body_text(req):
    body = req.get("body")
    if isinstance(body, dict):
        body = body.get("string")
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return body


def replay_file(path, out):
    with open(path, encoding="utf-8") as fh:
        interactions = json.load(fh)["interactions"]
    ok = 0
    ids = IdMap()
    with EmulatorServer(quotas_enabled=False) as server:
        session = requests.Session()
        for i, inter in enumerate(interactions):
            req, resp = inter["request"], inter["response"]
            uri = ids.text(req["uri"])
            for host in HOSTS:
                if uri.startswith(host):
                    uri = server.url + uri[len(host):]
            body = _body_text(req)
            if body:
                parsed = _parse(body)
                body = json.dumps(ids.json(parsed)) if isinstance(parsed, (dict, list)) else body
            headers = {"Authorization": "Bearer replay-token"}
            if body:
                headers["Content-Type"] = "application/json"
            got = session.request(req["method"], uri, data=body.encode() if body else None,
                                  headers=headers)
            expected_body = _parse((resp.get("body") or {}).get("string") or "")
            actual_body = _parse(got.text)
            ids.learn(expected_body, actual_body)
            label = f"{os.path.basename(path)} #{i} {req['method']} {_short_path(req['uri'])}"
            problem = _compare(resp["status"]["code"], got.status_code, expected_body,
                               actual_body, ids)
            if problem:
                print(f"{label}: {problem}", file=out)
            else:
                ok += 1
    return ok, len(interactions)


def _short_path(uri):
    for host in HOSTS:
        uri = uri.replace(host, "")
    return uri if len(uri) < 110 else uri[:107] + "..."


def _compare(want_status, got_status, want, got, ids):
    if want_status != got_status:
        return f"status {got_status} != expected {want_status} ({short(got)})"
    want = ids.json(want)
    got = IdMap().json(got)  # only to normalise times the same way
    return first_difference(want, got)


def cassette_files(paths):
    for p in paths:
        if os.path.isdir(p):
            yield from sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".json"))
        else:
            yield p


def main(argv=None):
    paths = (argv if argv is not None else sys.argv[1:]) or [DEFAULT_CASSETTES]
    ok = total = 0
    for path in cassette_files(paths):
        good, n = replay_file(path, sys.stdout)
        ok, total = ok + good, total + n
    print(f"replayed: {ok}/{total} interactions match")
    return 0 if ok == total and total else 1


if __name__ == "__main__":
    sys.exit(main())
