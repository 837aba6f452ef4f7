"""EmulatorServer: runs the Flask app on 127.0.0.1:<free port> in a background thread."""
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import create_app
from .control import Emulator


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # keep test output clean
        pass


class EmulatorServer:
    def __init__(self, host="127.0.0.1", port=0, quotas_enabled=True, read_quota=60,
                 write_quota=60, quota_window=60.0):
        self.emulator = Emulator(quotas_enabled=quotas_enabled, read_quota=read_quota,
                                 write_quota=write_quota, quota_window=quota_window)
        self._server = make_server(host, port, create_app(self.emulator), threaded=True,
                                   request_handler=_QuietHandler)
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = None

    # --- lifecycle ---------------------------------------------------------------
    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- controls ------------------------------------------------------------------
    @property
    def state(self):
        return self.emulator.state

    @property
    def log(self):
        return self.emulator.log

    @property
    def quotas_enabled(self):
        return self.emulator.quotas_enabled

    @quotas_enabled.setter
    def quotas_enabled(self, value):
        self.emulator.quotas_enabled = value

    def set_quota(self, read=None, write=None, window=None, enabled=None, project_read=None,
                  project_write=None):
        e = self.emulator
        e.project_quota["read"] = project_read or e.project_quota["read"]
        e.project_quota["write"] = project_write or e.project_quota["write"]
        e.read_quota = read if read is not None else e.read_quota
        e.write_quota = write if write is not None else e.write_quota
        e.quota_window = window if window is not None else e.quota_window
        e.quotas_enabled = enabled if enabled is not None else e.quotas_enabled

    def inject(self, status=500, count=1, path_contains=None, message=None, retry_after=None,
               seconds=None):
        self.emulator.inject(status, count, path_contains, message, retry_after, seconds)

    def set_latency(self, seconds):
        self.emulator.latency = seconds

    def reset(self):
        self.emulator.reset()

    def count(self, kind=None, token=None):
        return self.emulator.count(kind, token)

    def peak_in_window(self, kind="write", seconds=60, token=None):
        return self.emulator.peak_in_window(kind, seconds, token)
