"""What every command shares: the program name, the notice, the model to use, outputs."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from ..api import Model

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DISCLAIMER", "PROG", "add_output", "evidence_of", "messages", "model_of"]

PROG = "python -m model"
DISCLAIMER = "heelnet is a research and teaching model, not a medical device."


def model_of(args: argparse.Namespace) -> Model:
    """The bundled model, or the one in ``--priors DIR``."""
    priors = getattr(args, "priors", None)
    return Model.from_directory(priors) if priors else Model.default()


def add_output(parser: argparse.ArgumentParser, metavar: str, what: str) -> None:
    """Declare ``-o/--output`` and ``--force`` (shared by every command that writes)."""
    parser.add_argument("-o", "--output", metavar=metavar, required=True,
                        help=f"{what}: '-' for standard output; an existing file is replaced "
                             "only once the new one is complete (a link's target is replaced, "
                             "a device or FIFO is written to)")
    parser.add_argument("--force", action="store_true", default=argparse.SUPPRESS,
                        help="replace an output file even if it is read-only")


def messages(args: argparse.Namespace) -> TextIO:
    """Where a command's own messages go: stderr when the output itself is stdout."""
    return sys.stderr if getattr(args, "output", None) == "-" else sys.stdout


def evidence_of(model: Model) -> pd.DataFrame | None:
    """Published accuracy beside the model's (``priors/accuracy.csv``), for reports; None,
    with a note on stderr, when the model lacks an id the table uses."""
    from ..accuracy import compare
    from ..errors import HeelnetError

    try:
        return compare(model)
    except HeelnetError as error:
        print(f"note: no accuracy section in the report: {error}", file=sys.stderr)
        return None
