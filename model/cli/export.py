"""``export --format FMT -o FILE``: the network for GeNIe, Hugin, SamIam or pyAgrum."""

from __future__ import annotations

import argparse

from ..export import FORMATS
from .common import add_output, messages, model_of

__all__ = ["NAME", "add", "run"]

NAME = "export"


def add(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare the command and its arguments."""
    export = commands.add_parser(
        "export", parents=[common], help="write the network for GeNIe, Hugin, SamIam or pyAgrum",
        description="Write the Bayesian network in a standard format through pgmpy's writers. "
                    "BIF and XML-BIF keep full precision; XDSL keeps 16 decimals.")
    export.add_argument("--format", choices=FORMATS, required=True, dest="fmt")
    add_output(export, "FILE", "output file")


def run(args: argparse.Namespace) -> int:
    """Write the network."""
    path = model_of(args).export(args.fmt, args.output, force=getattr(args, "force", False))
    print(f"wrote {args.fmt} network to {path}", file=messages(args))
    return 0
