"""``warmup``: compile the inference kernel now, so that no later run pays for it."""

from __future__ import annotations

import argparse
import sys

from .common import model_of

__all__ = ["NAME", "add", "run", "warm"]

NAME = "warmup"


def add(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare the command and its arguments."""
    commands.add_parser(
        "warmup", parents=[common], help="compile the inference kernel once (after installing)",
        description="Compile the numba inference kernel (serial and parallel) and cache the "
                    "engine's schedule on disk: ~20 s once per install, then a fraction of a "
                    "second. 'python -m model' does it too.")


def warm(args: argparse.Namespace, *, quiet: bool = False) -> float:
    """Warm the model's engine; say so when it took long enough to notice."""
    seconds = model_of(args).engine.warm()
    if not quiet and seconds > 2:
        print(f"compiled the inference kernel in {seconds:.0f} s (once per install; "
              "later runs load it from disk)", file=sys.stderr)
    return seconds


def run(args: argparse.Namespace) -> int:
    """Compile (or load) the kernel and report how long it took."""
    seconds = warm(args, quiet=True)
    print(f"inference kernel ready ({seconds:.1f} s)")
    return 0
