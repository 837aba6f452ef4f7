"""Everything around the API itself: request log, per-user quotas, fault injection, latency."""
import collections
import threading
import time

from .errors import ApiError
from .store import State

READ_SUFFIXES = (":batchGet", ":search", ":batchGetByDataFilter", ":getByDataFilter")


def request_kind(method, path):
    if method == "GET" or path.endswith(READ_SUFFIXES):
        return "read"
    return "write"


class Emulator:
    """The emulator's whole state: the spreadsheets plus the test controls."""

    def __init__(self, state=None, read_quota=60, write_quota=60, quota_window=60.0,
                 quotas_enabled=True, project_read_quota=300, project_write_quota=300):
        self.state = state or State()
        self.read_quota, self.write_quota = read_quota, write_quota
        self.project_quota = {"read": project_read_quota, "write": project_write_quota}
        self.quota_window = quota_window
        self.quotas_enabled = quotas_enabled
        self.latency = 0.0
        self.log = []
        self._rules = []
        self._usage = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()

    def reset(self):
        with self._lock:
            self.state.__init__()
            self.log.clear()
            self._rules.clear()
            self._usage.clear()
            self.latency = 0.0

    def inject(self, status=500, count=1, path_contains=None, message=None, retry_after=None,
               seconds=None):
        """Answer the next `count` requests (or all of them for `seconds`) with `status`,
        with a Retry-After header when `retry_after` is given."""
        until = time.time() + seconds if seconds is not None else None
        with self._lock:
            self._rules.append({"status": status, "left": count, "path": path_contains,
                                "message": message, "retry_after": retry_after,
                                "until": until})

    def take_injected(self, path):
        with self._lock:
            for rule in self._rules:
                if rule["path"] is not None and rule["path"] not in path:
                    continue
                if rule["until"] is not None:
                    if time.time() >= rule["until"]:
                        continue
                elif rule["left"] <= 0:
                    continue
                else:
                    rule["left"] -= 1
                headers = ({"Retry-After": str(rule["retry_after"])}
                           if rule["retry_after"] is not None else None)
                return ApiError(rule["status"], rule["message"], headers=headers)
        return None

    def charge_quota(self, token, kind):
        """Quotas per user (Google: 60 reads + 60 writes per minute per user) and per project
        (300 reads + 300 writes per minute, all users together; we are one project).

        As Google counts them (developers.google.com/sheets/api/limits): per person, not per
        token (a refreshed token of the same person shares the quota: the person is the
        token's email when `state.emails` knows it), and "Quotas are refilled every minute"
        (a fresh allowance each minute, not a rolling window). The 429 carries no
        Retry-After: "use a truncated exponential backoff algorithm"."""
        if not self.quotas_enabled:
            return
        limit = self.read_quota if kind == "read" else self.write_quota
        person = self.state.emails.get(token, token)
        minute = int(time.monotonic() // self.quota_window)
        with self._lock:
            used, everyone = self._usage[(person, kind)], self._usage[(None, kind)]
            for window in (used, everyone):
                while window and window[0] != minute:
                    window.popleft()
            if len(everyone) >= self.project_quota[kind]:
                raise quota_error(kind, per_user=False)
            if len(used) >= limit:
                raise quota_error(kind)
            used.append(minute)
            everyone.append(minute)

    def record(self, **rec):
        with self._lock:
            self.log.append(rec)

    def count(self, kind=None, token=None):
        return sum(1 for r in self.log if (kind is None or r["kind"] == kind)
                   and (token is None or r["token"] == token))

    def peak_in_window(self, kind="write", seconds=60, token=None):
        times = sorted(r["time"] for r in self.log if r["kind"] == kind
                       and (token is None or r["token"] == token))
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= seconds:
                lo += 1
            best = max(best, hi - lo + 1)
        return best


def quota_error(kind, per_user=True):
    metric = "Read requests" if kind == "read" else "Write requests"
    scope, limit_name, value = ((" per user", "PerMinutePerUser", "60") if per_user
                                else ("", "PerMinutePerProject", "300"))
    message = (f"Quota exceeded for quota metric '{metric}' and limit '{metric} per minute"
               f"{scope}' of service 'sheets.googleapis.com' for consumer "
               f"'project_number:000000000000'.")
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com",
                "metadata": {"quota_metric": f"sheets.googleapis.com/{kind}_requests",
                             "quota_limit": f"{kind.capitalize()}Requests{limit_name}",
                             "service": "sheets.googleapis.com",
                             "consumer": "projects/000000000000",
                             "quota_limit_value": value}}]
    return ApiError(429, message, details)
