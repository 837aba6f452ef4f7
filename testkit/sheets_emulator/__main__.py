"""Dev server, run from the checkout root:

    python -m testkit.sheets_emulator --port 8790 [--no-quota]
"""
import argparse
import sys

from .server import EmulatorServer


def main(argv=None):
    p = argparse.ArgumentParser(description="Google Sheets API v4 emulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8790)
    p.add_argument("--no-quota", action="store_true", help="disable per-user quotas")
    args = p.parse_args(argv)
    server = EmulatorServer(args.host, args.port, quotas_enabled=not args.no_quota)
    print(f"sheets emulator listening on {server.url}", flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
