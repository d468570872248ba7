"""What every command shares: the program name, the notice, the model to use."""

from __future__ import annotations

import argparse

from ..api import Model

__all__ = ["DISCLAIMER", "PROG", "model_of"]

PROG = "python -m model"
DISCLAIMER = "heelnet is a research and teaching model, not a medical device."


def model_of(args: argparse.Namespace) -> Model:
    """The bundled model, or the one in ``--priors DIR``."""
    priors = getattr(args, "priors", None)
    return Model.from_directory(priors) if priors else Model.default()
