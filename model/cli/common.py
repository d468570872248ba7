"""What every command shares: the program name, the notice, the model to use."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..api import Model

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DISCLAIMER", "PROG", "evidence_of", "model_of"]

PROG = "python -m model"
DISCLAIMER = "heelnet is a research and teaching model, not a medical device."


def model_of(args: argparse.Namespace) -> Model:
    """The bundled model, or the one in ``--priors DIR``."""
    priors = getattr(args, "priors", None)
    return Model.from_directory(priors) if priors else Model.default()


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
