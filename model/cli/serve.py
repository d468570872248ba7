"""``serve [--port P]``: the local web page (tick findings or take the interview)."""

from __future__ import annotations

import argparse

from ..errors import HeelnetError
from .common import DISCLAIMER, model_of

__all__ = ["NAME", "add", "run"]

NAME = "serve"


def add(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare the command and its arguments."""
    serve = commands.add_parser(
        "serve", parents=[common], help="a local web page: tick findings or take the interview",
        description="Serve a web page on this computer only (http://127.0.0.1:PORT): tick what "
                    "is known, or take the interview one question at a time, and see the ranked "
                    "conditions, triage, red flags, why, and what to ask next. Nothing leaves "
                    "the machine. Stop it with Ctrl+C. " + DISCLAIMER)
    serve.add_argument("--port", type=int, default=8000, metavar="P",
                       help="port to listen on (default 8000; 0 picks a free one)")


def run(args: argparse.Namespace) -> int:
    """Serve the page until interrupted."""
    if not 0 <= args.port <= 65535:
        raise HeelnetError(f"--port must be a whole number from 0 to 65535; got {args.port}")
    from ..web import HOST, make_server

    server = make_server(model_of(args), args.port)
    print(f"heelnet is serving on http://{HOST}:{server.server_port}/ (this computer only); "
          f"press Ctrl+C to stop.\n{DISCLAIMER}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopped")
    finally:
        server.server_close()
    return 0
