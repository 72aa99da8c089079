"""`python -m tests.rocketchat_server --host 127.0.0.1 --port 3000 --admin-user admin ...`

Runs the simulator in the foreground until Ctrl-C / SIGTERM. Prints one line with the URLs
once it listens (and the start-up time), so scripts can wait for it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from tests.rocketchat_server.control import Simulator
from tests.rocketchat_server.runtime import SimulatorOptions


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.rocketchat_server",
        description="A protocol-faithful Rocket.Chat simulator (REST, DDP, outgoing webhooks).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000, help="0 picks a free port")
    parser.add_argument("--admin-user", default="admin")
    parser.add_argument("--admin-password", default="admin")
    parser.add_argument("--state", help="JSON file to load on start and save on stop")
    parser.add_argument("--site-url", help="Site_Url sent as siteUrl in webhook bodies")
    parser.add_argument("--retry-scale", type=float, default=1.0,
                        help="multiply outgoing-webhook retry delays (1.0 = real)")  # fmt: skip
    parser.add_argument("--no-rest-rate-limit", action="store_true",
                        help="disable the default REST rate limit (10 calls / 60 s)")  # fmt: skip
    parser.add_argument("--no-password-fallback", action="store_true",
                        help="do not enforce the 2FA password fallback on 2FA routes")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = SimulatorOptions(
        host=args.host,
        port=args.port,
        admin_user=args.admin_user,
        admin_password=args.admin_password,
        state_file=args.state,
        site_url=args.site_url,
        retry_scale=args.retry_scale,
        rest_rate_limit=None if args.no_rest_rate_limit else SimulatorOptions.rest_rate_limit,
        enforce_password_fallback=not args.no_password_fallback,
    )
    # Handlers first: a caller may send SIGTERM as soon as it reads the line below, and the
    # default action would end the process without saving the state file.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    began = time.perf_counter()
    try:
        simulator = Simulator(options).start()
    except OSError as error:
        print(f"cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 2
    took = (time.perf_counter() - began) * 1000
    print(f"Rocket.Chat simulator listening on {simulator.url} (websocket {simulator.ws_url}) "
          f"started in {took:.0f} ms", flush=True)  # fmt: skip
    stop.wait()
    simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
