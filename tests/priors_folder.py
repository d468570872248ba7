"""Small hand-written knowledge bases for closed-form tests."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from model import Model


def model_from_texts(folder: Path, files: Mapping[str, str]) -> Model:
    """Write each priors file's text into ``folder`` and load the model from it."""
    for name, text in files.items():
        (folder / name).write_text(text)
    return Model.from_directory(folder)
