"""Read, check and hold the knowledge base in ``priors/``.

One loader checks everything: ids against the vocabulary, values in range,
distributions that must sum to 1, condition priors that stay at most 1 for every
combination of parent states, no cycles, and a source on every number. Its errors
name the file (or the parameters-table row), the line and the problem. The same
checks run whether the numbers come from the CSV files or from an edited
:meth:`KnowledgeBase.parameters` table: both are first turned into *records*
(one dict per number, keyed by the columns of the parameters table) through
:data:`FILES`, the one place that says which CSV column is which parameter
column, and then each file's records are read by a function of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import Any

import pandas as pd

from ..vocabulary import Vocabulary
from .base import (
    AGE_INPUT,
    AGE_NODE,
    BOOL_STATES,
    SOURCE_KINDS,
    KnowledgeBase,
    PriorsError,
    TriageRule,
)
from .readers import read_conditions, read_context, read_leaks, read_likelihoods, read_triage
from .records import FILES, PARAMETER_COLUMNS, Recorder, csv_records, table_records

__all__ = ["AGE_INPUT", "AGE_NODE", "BOOL_STATES", "FILES", "PARAMETER_COLUMNS", "SOURCE_KINDS",
           "KnowledgeBase", "PriorsError", "TriageRule", "from_parameters", "load_priors"]


def _build(vocab: Vocabulary, records: Mapping[str, list[dict[str, Any]]]) -> KnowledgeBase:
    out = Recorder()
    parts = read_context(vocab, records["context.csv"], out)
    parts |= read_conditions(vocab, records["conditions.csv"], out, parts["context_states"])
    parts |= read_likelihoods(vocab, records["likelihoods.csv"], out)
    parts |= read_leaks(vocab, records["leaks.csv"], out)
    parts |= read_triage(vocab, records["triage.csv"], out, parts["context_states"])
    return KnowledgeBase(vocabulary=vocab, records=out.frame(), **parts)


# ----------------------------------------------------------------------------- entry points


def load_priors(directory: str | Path | Traversable | None = None) -> KnowledgeBase:
    """Load and check the knowledge base from a folder of CSV files.

    Parameters
    ----------
    directory : path, optional
        A folder laid out like ``priors/``; the bundled knowledge base by default.

    Raises
    ------
    PriorsError
        Naming the file, the line and the problem.

    Examples
    --------
    >>> kb = load_priors()
    >>> kb.baselines["achilles_tendinopathy"] > 0
    True
    """
    base: Traversable = resources.files("model.priors") if directory is None else Path(directory)
    label = "priors" if directory is None else str(directory)
    text: Callable[[str], str] = lambda name: _read_text(base, label, name)  # noqa: E731
    vocabulary = Vocabulary.from_csv_text(text("vocabulary.csv"), f"{label}/vocabulary.csv")
    records = {spec.name: csv_records(text(spec.name), spec, f"{label}/{spec.name}")
               for spec in FILES}
    return _build(vocabulary, records)


def _read_text(base: Traversable, label: str, name: str) -> str:
    entry = base / name
    if not entry.is_file():
        raise PriorsError(f"{label}/{name}: file not found")
    return entry.read_text(encoding="utf-8")


def from_parameters(table: pd.DataFrame, vocabulary: Vocabulary) -> KnowledgeBase:
    """Rebuild a knowledge base from a (possibly edited) :meth:`KnowledgeBase.parameters` table.

    The rows are checked exactly as the CSV files are; an error names the row (and
    the file and line it first came from).
    """
    return _build(vocabulary, table_records(table))
