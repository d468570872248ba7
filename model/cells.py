"""The cells of a table of cases: each input column parsed to engine codes, the expected
answers checked, and each row's messages collected.

Input columns are parsed by :meth:`~model.encoding.Encoding.column` (once per
distinct value, with the vocabulary's messages); a cell that holds several values
(a list, say) is that row's error, never a ``TypeError``. ``expected_condition``
takes condition ids joined by ``|``, or ``none`` for a case known to have no
modelled condition; ``expected_triage`` a triage level. Other causes (conditions of
type ``other``) are accepted there, as :func:`model.fit.fit` reads them, but are never
counted as a hit or a miss (:mod:`model.metrics`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .columns import EXPECTED_CONDITION, NONE
from .errors import InvalidValueError
from .vocabulary import is_blank, suggestion

if TYPE_CHECKING:
    from .diagnosis import ModelCore

__all__ = ["Expected", "add_errors", "encode_column", "hashable", "top_k"]


class Expected:
    """Parsers of the expected-answer columns (distinct values once, cached)."""

    def __init__(self, model: ModelCore) -> None:
        self.conditions = model.conditions
        self.index = {c: i for i, c in enumerate(model.conditions)}
        self.levels = tuple(model.triage_rules.levels)
        self._cache: dict[str, dict[Any, str]] = {}

    def condition(self, raw: Any) -> str:
        """The error of an ``expected_condition`` cell ("" when fine); ``none`` alone
        says that the case has none of the modelled conditions."""
        if is_blank(raw):
            return ""
        parts = [part.strip() for part in str(raw).split("|")]
        if parts == [NONE]:
            return ""
        for cond in parts:
            if cond == NONE:
                return ("expected_condition: 'none' means no modelled condition, so it "
                        "cannot be joined with conditions")
            if cond not in self.index:
                return (f"expected_condition: unknown condition '{cond}'"
                        f"{suggestion(cond, self.conditions)}")
        return ""

    def triage(self, raw: Any) -> str:
        """The error of an ``expected_triage`` cell ("" when fine)."""
        if is_blank(raw) or str(raw).strip().lower() in self.levels:
            return ""
        return f"expected_triage must be {' or '.join(self.levels)}; got {raw!r}"

    def errors(self, column: str, values: pd.Series) -> np.ndarray | None:
        """Per-cell messages of an expected column, or None when every cell is fine."""
        check = self.condition if column == EXPECTED_CONDITION else self.triage
        cache = self._cache.setdefault(column, {})
        try:
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
        except TypeError:  # a list in a cell: its own error, the rest as usual
            single = np.array([hashable(v) for v in values], dtype=bool)
            out = np.full(len(values), "", dtype=object)
            found = self.errors(column, values[single]) if single.any() else None
            if found is not None:
                out[single] = found
            out[~single] = f"{column} must be text; got a list or other container"
            return out
        messages = []
        for raw in uniques:
            key = (type(raw), raw)
            if key not in cache:
                cache[key] = check(raw)
            messages.append(cache[key])
        messages.append("")
        found = np.array(messages, dtype=object)
        return found[codes] if (found != "").any() else None


def hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def encode_column(model: ModelCore, name: str, values: pd.Series
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """Engine codes and messages of one input column (see :meth:`Encoding.column`);
    an unhashable cell (a list, say) gets the vocabulary's message, not a TypeError."""
    try:
        return model.encoding.column(name, values)
    except TypeError:
        single = np.array([hashable(v) for v in values], dtype=bool)
        codes = np.full(len(values), -1, dtype=np.int64)
        messages = np.full(len(values), "", dtype=object)
        if single.any():
            codes[single], found = model.encoding.column(name, values[single])
            if found is not None:
                messages[single] = found
        for i in np.flatnonzero(~single):
            try:
                model.vocabulary.parse(name, values.iloc[i])
            except InvalidValueError as error:
                messages[i] = str(error).rstrip(".")
        return codes, messages


def add_errors(errors: np.ndarray, new: np.ndarray) -> None:
    """Append the non-empty messages of ``new`` to ``errors`` (in place), "; "-joined."""
    mask = new != ""
    if not mask.any():
        return
    both = mask & (errors != "")
    errors[both] = errors[both] + "; "
    errors[mask] = errors[mask] + new[mask]


def top_k(probs: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's ``k`` largest values, largest first, ties in column
    order (as a stable sort of ``-probs``); NaN ranks below every probability."""
    work = np.nan_to_num(probs, nan=-1.0)
    k = min(k, work.shape[1])
    out = np.empty((len(work), k), dtype=np.intp)
    rows = np.arange(len(work))
    for j in range(k):  # argmax takes the first of equal values
        out[:, j] = work.argmax(axis=1)
        work[rows, out[:, j]] = -np.inf
    return out
