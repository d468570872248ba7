"""How well scored cases agree with their expected answers: accuracy, calibration, triage.

:class:`Metrics` reads the output of :func:`model.scoring.score` (or a scored CSV
read back as text) a chunk at a time and keeps only running counts, so a file of
any length is summarised in flat memory. :func:`summarise` is the one-call version.

Definitions
-----------
- A case is **right at top-k** when any of its ``|``-joined expected conditions is
  among the k most probable (the ``top1``..``top3`` columns).
- **Recall** of a condition: of the cases that list it as expected, the share that
  rank it first (or in the top three).
- **Other causes** (conditions of type ``other``: causes of findings that are not a
  diagnosis) are never counted: only diagnoses are ranked, recalled and calibrated,
  and a case whose expected answer names only other causes counts as ``none``.
- **Calibration** looks at every diagnosis probability of every case with an
  expected condition (or ``none``: known to have no modelled diagnosis), against
  1 if that diagnosis is expected and 0 if not. On simulated cases, whose expected
  conditions are the full truth, this is the model's calibration *in the setting
  they were drawn in*: with ``simulate --all-cases`` (cases with no condition kept
  as ``none``) the model is calibrated; by default only cases with a condition are
  kept, a selection the model does not see, and its probabilities run low. On
  hand-written vignettes, where another condition may be present but unlisted, it
  is only indicative. Top-k accuracy and recall count cases with a condition only.
  Brier score and log loss are scikit-learn's, summed chunk by chunk; the
  reliability bins are equal-width (the same bins as
  ``sklearn.calibration.calibration_curve(strategy="uniform")``), and the expected
  calibration error, which scikit-learn lacks, is
  ``sum_b n_b / N * |mean predicted_b - observed frequency_b|`` over those bins.
- **Triage**: agreement is the share of cases whose advice equals
  ``expected_triage``; **under-triage** is advice less urgent than expected, counted
  per expected level, emergencies first; over-triage the reverse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .diagnosis import ModelCore

__all__ = ["Metrics", "Summary", "expected_calibration_error", "reliability_bins", "summarise"]

#: How many under-triaged cases a summary lists by id.
LISTED = 20


def reliability_bins(predicted: np.ndarray, observed: np.ndarray, bins: int = 10
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Count, sum of predictions and sum of outcomes in equal-width bins of [0, 1].

    The bins are exactly those of ``calibration_curve(strategy="uniform")``: closed on
    the right, so a prediction on an edge falls in the lower bin.
    """
    p = np.asarray(predicted, dtype=float).ravel()
    y = np.asarray(observed, dtype=float).ravel()
    which = np.searchsorted(np.linspace(0.0, 1.0, bins + 1)[1:-1], p)
    return (np.bincount(which, minlength=bins).astype(np.int64),
            np.bincount(which, weights=p, minlength=bins),
            np.bincount(which, weights=y, minlength=bins))


def expected_calibration_error(count: np.ndarray, sum_predicted: np.ndarray,
                               sum_observed: np.ndarray) -> float:
    """ECE from reliability bins: the count-weighted mean gap between prediction and outcome.

    Examples
    --------
    >>> import numpy as np
    >>> count, predicted, observed = np.array([2, 2]), np.array([0.2, 1.6]), np.array([0, 2])
    >>> round(expected_calibration_error(count, predicted, observed), 6)
    0.15
    """
    total = count.sum()
    if total == 0:
        return float("nan")
    return float(np.abs(sum_predicted - sum_observed).sum() / total)


@dataclass(frozen=True)
class Summary:
    """Agreement of scored cases with their expected answers (running totals).

    Counts are of cases; ``confusion[i, j]`` counts cases expected at ``levels[i]``
    and advised ``levels[j]``.
    """

    conditions: tuple[str, ...]
    levels: tuple[str, ...]
    rows: int
    errors: int
    with_condition: int
    top1: int
    top3: int
    top1_probability_sum: float
    per_condition: dict[str, tuple[int, int, int]]  # condition -> (expected, top-1, top-3)
    with_triage: int
    confusion: np.ndarray
    bins: tuple[np.ndarray, np.ndarray, np.ndarray]
    brier_sum: float
    log_loss_sum: float
    cells: int
    under_triaged: tuple[tuple[str, str, str], ...] = field(default=())
    with_none: int = 0  # cases whose expected_condition is 'none' (in calibration only)

    # accuracy ---------------------------------------------------------------
    @property
    def top1_accuracy(self) -> float:
        """Share of cases whose top condition is one of the expected ones."""
        return _share(self.top1, self.with_condition)

    @property
    def top3_accuracy(self) -> float:
        """Share of cases with an expected condition among the three most probable."""
        return _share(self.top3, self.with_condition)

    @property
    def mean_top1_probability(self) -> float:
        """Mean probability of the top condition: the top-1 accuracy a calibrated model
        expects when the expected conditions are the whole truth."""
        return _share(self.top1_probability_sum, self.with_condition)

    # triage -----------------------------------------------------------------
    @property
    def triage_agreement(self) -> int:
        """Cases advised exactly their expected triage."""
        return int(np.trace(self.confusion))

    @property
    def under_triage(self) -> int:
        """Cases advised less urgent care than expected."""
        return int(np.triu(self.confusion, 1).sum())

    @property
    def over_triage(self) -> int:
        """Cases advised more urgent care than expected."""
        return int(np.tril(self.confusion, -1).sum())

    def under_triage_of(self, level: str) -> tuple[int, int]:
        """(under-triaged, total) among cases expected at ``level``."""
        i = self.levels.index(level)
        return int(self.confusion[i, i + 1:].sum()), int(self.confusion[i].sum())

    def over_triage_of(self, level: str) -> tuple[int, int]:
        """(over-triaged, total) among cases expected at ``level``."""
        i = self.levels.index(level)
        return int(self.confusion[i, :i].sum()), int(self.confusion[i].sum())

    # calibration ------------------------------------------------------------
    @property
    def ece(self) -> float:
        """Expected calibration error over every condition probability."""
        return expected_calibration_error(*self.bins)

    @property
    def brier(self) -> float:
        """Mean Brier score over every condition probability."""
        return _share(self.brier_sum, self.cells)

    @property
    def log_loss(self) -> float:
        """Mean log loss over every condition probability."""
        return _share(self.log_loss_sum, self.cells)

    def recall(self) -> pd.DataFrame:
        """Per-condition recall: one row per condition that some case expects."""
        rows = [(c, n, h1, h3, _share(h1, n), _share(h3, n))
                for c, (n, h1, h3) in self.per_condition.items() if n]
        return pd.DataFrame(rows, columns=["condition", "cases", "top1", "top3",
                                           "recall_top1", "recall_top3"])

    def confusion_table(self) -> pd.DataFrame:
        """The triage confusion matrix as a labelled table (rows expected, columns advised)."""
        return pd.DataFrame(self.confusion, index=pd.Index(self.levels, name="expected"),
                            columns=pd.Index(self.levels, name="advised"))

    # text -------------------------------------------------------------------
    def short(self, title: str = "") -> str:
        """A few lines: top-1, top-3, triage agreement, under- and over-triage (by
        expected level), calibration."""
        lines = [f"{title}{': ' if title else ''}{self.rows} cases, {self.rows - self.errors} "
                 f"scored, {self.errors} with errors"]
        if self.with_condition:
            lines += [
                f"  top-1 accuracy    {_count(self.top1, self.with_condition)}",
                f"  top-3 accuracy    {_count(self.top3, self.with_condition)}",
            ]
        if self.with_triage:
            lines.append(f"  triage agreement  {_count(self.triage_agreement, self.with_triage)}")
            for name, count, of, levels in (
                    ("under-triage", self.under_triage, self.under_triage_of, self.levels[:-1]),
                    ("over-triage", self.over_triage, self.over_triage_of, self.levels[1:])):
                parts = [f"{level} {k} of {total}" for level in levels
                         for k, total in [of(level)] if total]
                lines.append(f"  {name:<18}{_count(count, self.with_triage)}"
                             + (f"  ({'; '.join(parts)})" if parts else ""))
        if self.cells:
            lines.append(f"  calibration       ECE {self.ece:.4f}, Brier {self.brier:.4f} "
                         f"(over {self.cells} condition probabilities)")
        return "\n".join(lines)

    def full(self, title: str = "") -> str:
        """The short summary plus recall per condition, the triage confusion table and
        the under-triaged cases."""
        out = [self.short(title)]
        if self.with_condition:
            out.append(f"  mean top-1 probability {self.mean_top1_probability:.3f} "
                       "(the top-1 accuracy expected if the expected conditions are the truth)")
            table = self.recall()
            table["recall_top1"] = table["recall_top1"].map("{:.0%}".format)
            table["recall_top3"] = table["recall_top3"].map("{:.0%}".format)
            out += ["", "Recall per condition:", table.to_string(index=False)]
        if self.with_triage:
            out += ["", "Triage (rows: expected, columns: advised):",
                    self.confusion_table().to_string()]
            if self.under_triaged:
                more = self.under_triage - len(self.under_triaged)
                listed = ", ".join(f"{c} ({e} -> {a})" for c, e, a in self.under_triaged)
                out += ["", f"Under-triaged cases, most urgent first: {listed}"
                        + (f" and {more} more" if more > 0 else "")]
        return "\n".join(out)


def _share(part: float, whole: float) -> float:
    return float(part) / whole if whole else float("nan")


def _count(part: int, whole: int) -> str:
    return f"{part}/{whole}  {_share(part, whole):.1%}"


class Metrics:
    """Running totals over chunks of scored cases; :meth:`summary` gives the result.

    Parameters
    ----------
    conditions : sequence of str
        The diagnoses (the conditions that are ranked), in the order of their
        ``p_<condition>`` columns.
    levels : sequence of str
        Triage levels, most urgent first.
    bins : int
        Reliability bins over [0, 1].
    other_causes : sequence of str
        Conditions that are not diagnoses: named in ``expected_condition`` they are
        ignored, and a case that names only them counts as ``none``.
    """

    def __init__(self, conditions: Sequence[str], levels: Sequence[str], bins: int = 10,
                 other_causes: Sequence[str] = ()) -> None:
        self.conditions = tuple(conditions)
        self.other_causes = frozenset(other_causes)
        self.levels = tuple(levels)
        self._index = {c: i for i, c in enumerate(self.conditions)}
        k = len(self.conditions)
        self.rows = self.errors = self.with_condition = self.top1 = self.top3 = 0
        self.with_none = 0
        self.top1_probability_sum = 0.0
        self.expected = np.zeros(k, dtype=np.int64)
        self.hit1 = np.zeros(k, dtype=np.int64)
        self.hit3 = np.zeros(k, dtype=np.int64)
        self.with_triage = 0
        self.confusion = np.zeros((len(self.levels), len(self.levels)), dtype=np.int64)
        self.bins = tuple(np.zeros(bins) for _ in range(3))
        self.brier_sum = self.log_loss_sum = 0.0
        self.cells = 0
        self.under: list[tuple[int, str, str, str]] = []

    @classmethod
    def of(cls, model: ModelCore, bins: int = 10) -> Metrics:
        """The metrics of a model's scored cases: its diagnoses, other causes and levels."""
        return cls(model.diagnoses, model.triage_rules.levels, bins, model.other_causes)

    def _expected_matrix(self, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Which diagnoses each case expects, and whether it expects none (``none``, or
        other causes only)."""
        codes, uniques = pd.factorize(column.fillna("").astype(str))
        table = np.zeros((len(uniques) + 1, len(self.conditions)), dtype=bool)
        none = np.zeros(len(uniques) + 1, dtype=bool)
        for u, text in enumerate(uniques):
            parts = [part.strip() for part in text.split("|")]
            none[u] = parts == ["none"] or all(p in self.other_causes for p in parts)
            for part in parts:
                if part in self._index:
                    table[u, self._index[part]] = True
        return table[codes], none[codes]

    def update(self, scored: pd.DataFrame) -> None:
        """Add a chunk of scored cases (rows with an error are counted, not scored)."""
        self.rows += len(scored)
        error = scored["error"].fillna("").astype(str).to_numpy() != ""
        self.errors += int(error.sum())
        ok = scored.loc[~error]
        if "expected_condition" in ok.columns and len(ok):
            self._update_conditions(ok)
        if "expected_triage" in ok.columns and len(ok):
            self._update_triage(ok)

    def _update_conditions(self, ok: pd.DataFrame) -> None:
        truth, none = self._expected_matrix(ok["expected_condition"])
        has = truth.any(axis=1)
        if none.any():  # no modelled diagnosis: in calibration, not in accuracy
            self.with_none += int(none.sum())
            self._update_calibration(truth[none], ok.loc[none])
        if not has.any():
            return
        truth = truth[has]
        ok = ok.loc[has]
        top = np.full((len(ok), 3), -1)
        for k in range(min(3, len(self.conditions))):
            names = ok[f"top{k + 1}"].map(self._index)
            top[:, k] = names.to_numpy(dtype=float, na_value=-1).astype(int)
        rows = np.arange(len(ok))[:, None]
        in_top = np.where(top >= 0, truth[rows, np.maximum(top, 0)], False)
        self.with_condition += len(ok)
        self.top1 += int(in_top[:, 0].sum())
        self.top3 += int(in_top.any(axis=1).sum())
        self.top1_probability_sum += float(ok["top1_probability"].astype(float).sum())
        self.expected += truth.sum(axis=0)
        first = np.zeros_like(truth)
        first[np.arange(len(ok)), np.maximum(top[:, 0], 0)] = top[:, 0] >= 0
        self.hit1 += (truth & first).sum(axis=0)
        three = np.zeros_like(truth)
        for k in range(3):
            three[np.arange(len(ok)), np.maximum(top[:, k], 0)] |= top[:, k] >= 0
        self.hit3 += (truth & three).sum(axis=0)
        self._update_calibration(truth, ok)

    def _update_calibration(self, truth: np.ndarray, ok: pd.DataFrame) -> None:
        """Every condition probability against 0/1 expected."""
        probs = ok[[f"p_{c}" for c in self.conditions]].to_numpy(dtype=float)
        y, p = truth.ravel().astype(int), probs.ravel()
        for total, part in zip(self.bins, reliability_bins(p, y, len(self.bins[0])),
                               strict=True):
            total += part
        from sklearn.metrics import brier_score_loss, log_loss  # ~0.8 s: not on import

        self.brier_sum += brier_score_loss(y, p, pos_label=1) * len(y)
        self.log_loss_sum += log_loss(y, p, labels=[0, 1], normalize=False)
        self.cells += len(y)

    def _update_triage(self, ok: pd.DataFrame) -> None:
        expected = ok["expected_triage"].fillna("").astype(str).str.strip().str.lower()
        given = expected.isin(self.levels).to_numpy()
        if not given.any():
            return
        exp = expected.to_numpy()[given]
        adv = ok["triage"].astype(str).to_numpy()[given]
        self.with_triage += int(given.sum())
        from sklearn.metrics import confusion_matrix

        self.confusion += confusion_matrix(exp, adv, labels=list(self.levels))
        rank = {level: i for i, level in enumerate(self.levels)}
        exp_rank = np.array([rank[e] for e in exp])
        adv_rank = np.array([rank.get(a, len(self.levels)) for a in adv])
        under = np.flatnonzero(adv_rank > exp_rank)
        ids = ok["case_id"].astype(str).to_numpy()[given]
        for i in under:
            self.under.append((int(exp_rank[i]), ids[i], exp[i], adv[i]))
        self.under = sorted(self.under, key=lambda u: u[0])[:LISTED]

    def summary(self) -> Summary:
        """The totals so far."""
        per = {c: (int(self.expected[i]), int(self.hit1[i]), int(self.hit3[i]))
               for i, c in enumerate(self.conditions)}
        return Summary(
            conditions=self.conditions, levels=self.levels, rows=self.rows, errors=self.errors,
            with_condition=self.with_condition, top1=self.top1, top3=self.top3,
            top1_probability_sum=self.top1_probability_sum, per_condition=per,
            with_triage=self.with_triage, confusion=self.confusion.copy(),
            bins=tuple(b.copy() for b in self.bins), brier_sum=self.brier_sum,
            log_loss_sum=self.log_loss_sum, cells=self.cells,
            under_triaged=tuple((c, e, a) for _, c, e, a in self.under),
            with_none=self.with_none,
        )


def summarise(scored: pd.DataFrame, conditions: Sequence[str], levels: Sequence[str],
              other_causes: Sequence[str] = ()) -> Summary:
    """Summarise a scored table (the output of :func:`model.score`) in one call; the
    arguments are those of :class:`Metrics` (``conditions``: the diagnoses).

    Examples
    --------
    >>> import pandas as pd
    >>> from model import Model, score
    >>> m = Model.default()
    >>> cases = pd.DataFrame({"age_years": ["11"], "pain_heel_back": ["yes"],
    ...     "heel_squeeze_tender": ["yes"], "expected_condition": ["severs_disease"],
    ...     "expected_triage": ["self_care"]})
    >>> s = summarise(score(cases, m), m.diagnoses, m.triage_rules.levels)
    >>> s.top1_accuracy
    1.0
    """
    metrics = Metrics(conditions, levels, other_causes=other_causes)
    metrics.update(scored)
    return metrics.summary()
