"""Published diagnostic accuracy against what the model implies, side by side.

``priors/accuracy.csv`` lists the diagnostic-accuracy figures the numbers of
``priors/`` were set to reproduce: for each, the condition, the test result
(``findings``), the presenting population the study recruited (``given``, as
vocabulary items), and the published likelihood ratio (or sensitivity). The
model's own figure comes from :meth:`model.Model.likelihood_ratio` in that
population, exactly; a figure reproduced within a factor of 2 counts as
reproduced (``tests/test_evidence.py`` checks every row).

Item lists are written ``finding=yes&other=no``; a row's ``measure`` is ``lr``
(the published likelihood ratio, positive or negative according to the values)
or ``sensitivity`` (P(findings | condition, given) when the study gives no
specificity).
"""

from __future__ import annotations

import csv
import io
import math
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .checks import check_ids
from .errors import PriorsError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .diagnosis import ModelCore

__all__ = ["ACCURACY_COLUMNS", "compare", "plot", "read_accuracy"]

#: The columns of ``priors/accuracy.csv``.
ACCURACY_COLUMNS = (
    "id", "condition", "findings", "given", "population", "measure", "published", "low", "high",
    "sensitivity", "specificity", "reference", "checked",
)
#: A model figure within this factor of the published one reproduces it.
FACTOR = 2.0


def _items(text: str, where: str) -> dict[str, str]:
    """``a=yes&b=no`` -> {'a': 'yes', 'b': 'no'}; blank -> {}."""
    out: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split("&"))):
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise PriorsError(f"{where}: items are written id=value, joined by &; got {part!r}")
        out[name.strip()] = value.strip()
    return out


def read_accuracy(path: str | Path | None = None) -> pd.DataFrame:
    """The published figures, checked: ``priors/accuracy.csv`` (or the file at ``path``).

    ``findings`` and ``given`` become dicts of id to value (validated against a model
    in :func:`compare`); ``published``, ``low``, ``high``, ``sensitivity`` and
    ``specificity`` are numbers (NaN when blank).

    Raises
    ------
    PriorsError
        Naming the file, the line and the problem.
    """
    if path is None:
        entry = resources.files("model.priors") / "accuracy.csv"
        text, where = entry.read_text(encoding="utf-8"), "priors/accuracy.csv"
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ACCURACY_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise PriorsError(f"{where}: missing column(s) {', '.join(missing)}")
    rows = []
    for line, row in enumerate(reader, start=2):
        at = f"{where}, line {line}"
        record: dict[str, Any] = dict(row)
        record["findings"] = _items(row["findings"], at)
        record["given"] = _items(row["given"], at)
        if not record["findings"]:
            raise PriorsError(f"{at}: findings is empty; give the test result, "
                              "e.g. palpable_gap=yes")
        if row["measure"] not in ("lr", "sensitivity"):
            raise PriorsError(f"{at}: measure must be lr or sensitivity; got {row['measure']!r}")
        for column in ("published", "low", "high", "sensitivity", "specificity"):
            raw = (row[column] or "").strip()
            try:
                record[column] = float(raw) if raw else math.nan
            except ValueError:
                raise PriorsError(f"{at}: {column} must be a number; got {raw!r}") from None
        if not record["published"] > 0:
            raise PriorsError(f"{at}: published must be a positive number; "
                              f"got {row['published']!r}")
        rows.append(record)
    return pd.DataFrame(rows, columns=list(ACCURACY_COLUMNS))


def _sensitivity(model: ModelCore, condition: str, findings: dict[str, Any],
                 given: dict[str, Any]) -> float:
    """P(findings | condition, given) = P(condition | given, findings) P(findings | given)
    / P(condition | given), all exact."""
    vocab = model.vocabulary
    population = vocab.validate(given)
    both = {**population, **vocab.validate(findings)}
    context, coded = model.encoding.encode([population, both])
    log_z = model.log_evidence(context, coded)
    post = model.infer(context, coded)[:, model.conditions.index(condition)]
    return float(post[1] * math.exp(log_z[1] - log_z[0]) / post[0])


def compare(model: ModelCore, accuracy: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each published figure beside the model's: ``model``, ``ratio`` (model / published)
    and ``reproduced`` (within a factor of 2).

    Examples
    --------
    >>> from model import Model
    >>> table = compare(Model.default())
    >>> set(table.columns) >= {"published", "model", "ratio", "reproduced"}
    True
    """
    table = read_accuracy() if accuracy is None else accuracy.copy()
    values = []
    for row in table.itertuples():
        check_ids("compare", "condition", [row.condition], model.conditions, "condition")
        if row.measure == "lr":
            values.append(model.likelihood_ratio(row.condition, row.findings, row.given))
        else:
            values.append(_sensitivity(model, row.condition, row.findings, row.given))
    table["model"] = values
    table["ratio"] = table.model / table.published
    table["reproduced"] = (table.ratio <= FACTOR) & (table.ratio >= 1.0 / FACTOR)
    return table


def plot(comparison: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Published against model figure, log scales, the band of a factor of 2 shaded."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    values = np.concatenate([comparison.published, comparison.model])
    lo, hi = float(values.min()) / 3, float(values.max()) * 3
    line = np.array([lo, hi])
    ax.fill_between(line, line / FACTOR, line * FACTOR, color="#dddddd", label="within x2")
    ax.plot(line, line, color="grey", linewidth=0.8)
    for measure, marker in (("lr", "o"), ("sensitivity", "s")):
        part = comparison[comparison.measure == measure]
        ax.scatter(part.published, part.model, marker=marker, zorder=3,
                   label="likelihood ratio" if measure == "lr" else "sensitivity")
        for row in part.itertuples():
            ax.annotate(row.id, (row.published, row.model), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi),
           xlabel="published", ylabel="model, in the study's presenting population",
           title="Published diagnostic accuracy and the model's")
    ax.legend(loc="upper left", fontsize="small")
    return ax
