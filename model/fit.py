"""Update the numbers from labelled cases: a Bayesian update whose prior is each number
with its plausible range.

What a labelled case says
-------------------------
A case is a row as :func:`model.score` reads it, with ``expected_condition``: the
conditions present (ids joined by ``|``), every other modelled condition absent;
``none`` says that none is present. Other causes (conditions of type ``other``) are
read the same way, so a label must name them where present: labels that never do
make their findings' leaks and links absorb them (fit warns). A finding left blank
was not asked. Context may be blank: the conditions are observed, so the links and
leaks do not need it.

What is fitted
--------------
By default the noisy-OR **links** and **leaks** (``tables=("likelihood", "leak")``):
P(finding | conditions) does not depend on who consults, so a clinic's case series
estimates it without bias (a case chosen *because* of a finding is the exception:
leave the findings that brought the cases in, the presenting complaint, out with
``exclude``). Baselines and risk ratios describe the population, and a case series is
selected on its conditions, so fitting them from one would be biased: they are fitted
only when asked (``tables=("condition_prior", "risk_ratio")``, see
:mod:`model.fit_priors`), for cases that sample the whole population. Context priors
are never fitted. The structure (which links exist) never changes.

How
---
Each link and leak gets a Beta prior with the same mean and variance on the logit
scale as its range (:func:`beta_prior`): its *effective sample size* a + b is large
for a narrow, well-sourced range and small for a wide assumption, so the former moves
less. ``strength`` multiplies it (1: the ranges as stated; 0.5: half as sure).
Findings not asked contribute nothing, which is exact when whether a finding is asked
does not depend on its answer (missing completely at random). A present finding with
several present causes is shared out by EM: the expected share credited to cause j
is P(j fires | finding present) = p_j / P(finding | present causes), the leak being
one more cause; an absent finding is a failed trial for every present cause and the
leak. The M-step takes each number's Beta posterior mean given those expected counts;
at convergence the number is that mean and its new range the Beta posterior's 5th
and 95th percentiles (which leaves out the uncertainty of the attribution itself).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .checks import Interval, check_ids, check_parameter
from .columns import EXPECTED_CONDITION
from .errors import HeelnetError
from .uncertainty import LEVEL

if TYPE_CHECKING:
    import os
    from pathlib import Path

    from .diagnosis import ModelCore

__all__ = ["FIT_TABLES", "LINK_TABLES", "RISK_TABLES", "Fit", "FitError", "beta_prior", "fit"]

#: The tables fit updates by default, those it can update on request, and all of them.
LINK_TABLES = ("likelihood", "leak")
RISK_TABLES = ("condition_prior", "risk_ratio")
FIT_TABLES = (*LINK_TABLES, *RISK_TABLES)
#: What ``expected_condition`` says for a case with none of the modelled conditions.
NONE = "none"
#: EM stops when no number moves by more than this, or after MAX_ITERATIONS.
TOLERANCE = 1e-10
MAX_ITERATIONS = 5000
#: Rows named in a FitError's message (all are in its ``errors``).
SHOWN_ERRORS = 10


class FitError(HeelnetError):
    """Some cases cannot be used; nothing was fitted. ``errors``: one row per bad case."""

    def __init__(self, message: str, errors: pd.DataFrame) -> None:
        super().__init__(message)
        self.errors = errors


@dataclass(frozen=True)
class Fit:
    """The result of :func:`fit`.

    Attributes
    ----------
    model : ModelCore
        The model with the updated numbers (same class as the one fitted).
    parameters : DataFrame
        Its :meth:`parameters` table: moved rows have ``source_kind`` ``data``, the
        number of cases in ``source``, and the old value and source in ``derivation``.
    changes : DataFrame
        One row per moved number: ``table``, ``node``, ``parent``, ``old``,
        ``old_low``, ``old_high``, ``value``, ``low``, ``high``, ``cases`` (trials),
        ``events`` (expected cases in which it fired), ``prior_cases`` (effective sample
        size of its prior).
    cases : int
        Labelled cases used.
    """

    model: ModelCore
    parameters: pd.DataFrame
    changes: pd.DataFrame
    cases: int
    base: ModelCore

    def write(self, directory: str | os.PathLike[str]) -> Path:
        """Write a priors folder that :meth:`Model.from_directory` loads: the fitted
        model's files, every row that did not move kept byte for byte. All files are
        checked and written to a temporary folder first, then moved into place."""
        from .fit_files import write_priors

        return write_priors(directory, self.base, self.parameters, self.changes.row)

    def __repr__(self) -> str:
        return f"Fit({len(self.changes)} numbers moved by {self.cases} labelled cases)"


# ----------------------------------------------------------------------------- priors


def beta_prior(value: np.ndarray, low: np.ndarray, high: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Beta(a, b) with mean ``value`` and the logit-scale variance of the range.

    The logit of a Beta(a, b) has variance ψ'(a) + ψ'(b). With a = n · value and
    b = n · (1 − value) (so that the mean, and hence a fit with no cases, is the
    number itself), ``n`` is solved by bisection on log n so that this variance is
    ((logit(high) − logit(low)) / (2 · 1.645))², the variance of the range's
    logit-normal (:mod:`model.uncertainty`). ``n`` is the effective sample size.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = beta_prior(np.array([0.75]), np.array([0.5]), np.array([0.9]))
    >>> float(np.round(a + b, 1)[0])  # an assumed link of 0.75, odds ×/÷ 3
    13.6
    """
    from scipy.special import polygamma

    from .uncertainty import Z

    logit = lambda p: np.log(p) - np.log1p(-p)  # noqa: E731
    var = ((logit(high) - logit(low)) / (2 * Z)) ** 2
    lo, hi = np.full(len(value), -20.0), np.full(len(value), 40.0)  # log n
    for _ in range(200):
        mid = (lo + hi) / 2
        n = np.exp(mid)
        wider = polygamma(1, n * value) + polygamma(1, n * (1 - value)) > var
        lo, hi = np.where(wider, mid, lo), np.where(wider, hi, mid)
    n = np.exp((lo + hi) / 2)
    return n * value, n * (1 - value)


# ----------------------------------------------------------------------------- the cases


def _row_names(cases: pd.DataFrame) -> list[str]:
    if "case_id" in cases.columns:
        return [f"row {i} (case_id {c})" for i, c in
                zip(range(1, len(cases) + 1), cases["case_id"].astype(str))]
    return [f"row {i}" for i in range(1, len(cases) + 1)]


def read_cases(model: ModelCore, cases: pd.DataFrame, pre_errors: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(truth (n, C) bool, findings (n, F) int8, context (n, X) int64)`` of labelled
    cases (engine codes, -1 not given), or a FitError naming every bad row (with the
    messages :func:`model.score` gives)."""
    from .scoring import score

    if not isinstance(cases, pd.DataFrame):
        raise HeelnetError(f"cases must be a pandas DataFrame with one row per case; "
                           f"got {type(cases).__name__}")
    if EXPECTED_CONDITION not in cases.columns:
        raise HeelnetError("fit needs an 'expected_condition' column: the conditions "
                           "present in each case (ids joined by |, or 'none')")
    labels = cases[EXPECTED_CONDITION].map(lambda v: "" if pd.isna(v) else str(v).strip())
    none = labels.str.lower() == NONE
    checked = cases.assign(**{EXPECTED_CONDITION: labels.where(~none, "")})
    errors = score(checked, model).error.to_numpy(dtype=object).copy()
    if pre_errors is not None:
        errors = np.where(pre_errors != "", pre_errors, errors)
    blank = (labels == "").to_numpy() & (errors == "")
    errors[blank] = ("expected_condition is blank; give the conditions present (ids joined "
                     "by |), or 'none'")
    bad = np.flatnonzero(errors != "")
    if len(bad):
        names = _row_names(cases)
        table = pd.DataFrame({"row": [names[i] for i in bad], "error": errors[bad]})
        shown = "; ".join(f"{r}: {e}" for r, e in table.head(SHOWN_ERRORS).itertuples(False))
        more = f" (and {len(bad) - SHOWN_ERRORS} more)" if len(bad) > SHOWN_ERRORS else ""
        raise FitError(f"{len(bad)} of {len(cases)} cases cannot be used, so nothing was "
                       f"fitted: {shown}{more}", table)
    if not len(cases):
        raise HeelnetError("fit needs at least one labelled case; got none")
    findings = np.full((len(cases), len(model.findings)), -1, dtype=np.int8)
    for j, name in enumerate(model.findings):
        if name in cases.columns:
            findings[:, j] = model.encoding.column(name, cases[name])[0]
    context = np.full((len(cases), len(model.context_nodes)), -1, dtype=np.int64)
    for j, node in enumerate(model.context_nodes):
        name = model.encoding.item_of(node)
        if name in cases.columns:
            context[:, j] = model.encoding.column(name, cases[name])[0]
    index = {c: i for i, c in enumerate(model.conditions)}
    truth = np.zeros((len(cases), len(model.conditions)), dtype=bool)
    for row, label in enumerate(labels.where(~none, "")):
        for part in filter(None, (p.strip() for p in label.split("|"))):
            truth[row, index[part]] = True
    return truth, findings, context


# ----------------------------------------------------------------------------- EM


def _em(truth: np.ndarray, findings: np.ndarray, weight: np.ndarray, link: np.ndarray,
        leak: np.ndarray, prior: dict[str, tuple[np.ndarray, np.ndarray]],
        fitted: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Noisy-OR EM with observed causes; see the module docstring."""
    t = truth.astype(float)
    asked = (findings >= 0) * weight[:, None]
    present = (findings == 1) * weight[:, None]
    trials = {"likelihood": t.T @ asked, "leak": asked.sum(axis=0)}
    link, leak = link.copy(), leak.copy()
    for _ in range(MAX_ITERATIONS):
        p_none = (1.0 - leak) * np.exp(t @ np.log(np.maximum(1.0 - link, 1e-300)))
        p_some = 1.0 - p_none
        share = np.divide(present, p_some, out=np.zeros_like(present), where=p_some > 0)
        events = {"likelihood": link * (t.T @ share), "leak": leak * share.sum(axis=0)}
        moved = 0.0
        for table, current in (("likelihood", link), ("leak", leak)):
            a, b = prior[table]
            new = (a + events[table]) / (a + b + trials[table])
            mask = fitted[table]
            moved = max(moved, float(np.abs(new - current)[mask].max(initial=0.0)))
            current[mask] = new[mask]
        if moved < TOLERANCE:
            break
    return {"likelihood": link, "leak": leak, "events_likelihood": events["likelihood"],
            "events_leak": events["leak"], "trials_likelihood": trials["likelihood"],
            "trials_leak": trials["leak"]}


# ----------------------------------------------------------------------------- fit


def _significant(x: np.ndarray) -> np.ndarray:
    """Numbers rounded to 6 significant digits (as they are written in the files)."""
    return np.array([float(f"{v:.6g}") for v in np.ravel(x)]).reshape(np.shape(x))


def fit(model: ModelCore, cases: pd.DataFrame, *, strength: float = 1.0,
        tables: Iterable[str] = LINK_TABLES, exclude: Iterable[str] = (),
        label: str = "labelled cases", pre_errors: np.ndarray | None = None) -> Fit:
    """Update ``model``'s links and leaks from labelled cases (see the module docstring).

    Parameters
    ----------
    model : ModelCore
    cases : DataFrame
        One row per case, as for :func:`model.score`, with ``expected_condition``.
    strength : float, default 1
        Multiplies each prior's effective sample size (> 0).
    tables : iterable of str
        Which numbers to fit: ``likelihood`` and ``leak`` by default; ``condition_prior``
        and ``risk_ratio`` on request, and only from a sample of the population (a
        practice's whole register), never from a case series chosen for its conditions
        (see :mod:`model.fit_priors`).
    exclude : iterable of str
        Findings whose links and leak stay as they are (the presenting complaint that
        selected the cases).
    label : str
        How ``source`` names the cases (a file name, say).

    Returns
    -------
    Fit

    Raises
    ------
    FitError
        When any case cannot be read, naming each (nothing is fitted).

    Examples
    --------
    >>> from pathlib import Path
    >>> from model import Model
    >>> from model.simulate import labelled_cases
    >>> toy = Model.from_directory(Path("tests/toy_priors"))
    >>> result = toy.fit(labelled_cases(toy, 400, seed=1))
    >>> sorted(set(result.changes.table))
    ['leak', 'likelihood']
    >>> int(result.model.parameters().source_kind.eq("data").sum()) == len(result.changes)
    True
    """
    check_parameter("fit", "strength", strength, Interval(float, 0, None, "neither"))
    tables = tuple(check_ids("fit", "tables", tables, FIT_TABLES, "table"))
    exclude = set(check_ids("fit", "exclude", exclude, model.findings, "finding"))
    truth, findings, context = read_cases(model, cases, pre_errors)
    _warn_unlabelled_other_causes(model, truth)
    changes = _link_changes(model, truth, findings, tables, exclude, strength)
    risks = [t for t in tables if t in RISK_TABLES]
    if risks:
        from .fit_priors import risk_changes

        changes += risk_changes(model, truth, context, risks, strength)
    return _assemble(model, changes, label, len(cases))


def _warn_unlabelled_other_causes(model: ModelCore, truth: np.ndarray) -> None:
    """Other causes are read like any condition: absent unless a label names them. Labels
    that never do (a clinic's diagnoses) make the fit credit their findings to the leaks
    and to the diagnoses' links; say so once."""
    columns = model.other_cause_columns
    if len(columns) and len(truth) and not truth[:, columns].any():
        import warnings

        warnings.warn(
            f"no label names an other cause ({', '.join(model.other_causes)}), so fit reads "
            "them as absent in every case and their findings' leaks and links absorb them; "
            "name them in expected_condition where present, or leave their findings out "
            "with exclude", UserWarning, stacklevel=3)


def _link_changes(model: ModelCore, truth: np.ndarray, findings: np.ndarray,
                  tables: tuple[str, ...], exclude: set[str], strength: float) -> list[dict]:
    """EM over the links and leaks of ``tables``: one change per number with cases."""
    from scipy.stats import beta

    rows, weight = np.unique(np.hstack([truth.astype(np.int8), findings]), axis=0,
                             return_counts=True)
    truth_u, findings_u = rows[:, :truth.shape[1]].astype(bool), rows[:, truth.shape[1]:]
    records = model.knowledge.records
    cond = {c: i for i, c in enumerate(model.conditions)}
    find = {f: j for j, f in enumerate(model.findings)}
    net = model.tables
    where: dict[str, dict] = {"likelihood": {}, "leak": {}}
    prior = {"likelihood": (np.ones_like(net.link), np.ones_like(net.link)),
             "leak": (np.ones_like(net.leak), np.ones_like(net.leak))}
    fitted = {"likelihood": np.zeros(net.link.shape, bool), "leak": np.zeros(len(net.leak), bool)}
    for table in (t for t in tables if t in LINK_TABLES):
        part = records[(records.table == table) & ~records.node.isin(exclude)]
        value, low, high = (part[c].to_numpy(float) for c in ("value", "low", "high"))
        usable = (value > 0) & (value < 1) & (low < value) & (value < high)
        part = part[usable]
        a, b = beta_prior(value[usable], low[usable], high[usable])
        for (row, rec), a_k, b_k in zip(part.iterrows(), a, b):
            at = ((cond[rec.parent], find[rec.node]) if table == "likelihood"
                  else find[rec.node])
            prior[table][0][at], prior[table][1][at] = strength * a_k, strength * b_k
            fitted[table][at] = True
            where[table][row] = at
    if not where["likelihood"] and not where["leak"]:
        return []
    result = _em(truth_u, findings_u, weight.astype(float), net.link, net.leak, prior, fitted)
    tail = (1.0 - LEVEL) / 2
    changes = []
    for table, positions in where.items():
        for row, at in positions.items():
            trials = float(result[f"trials_{table}"][at])
            if trials <= 0:
                continue  # no case behind it: the row stays as it was
            a, b = prior[table][0][at], prior[table][1][at]
            events = float(result[f"events_{table}"][at])
            low, high = beta.ppf([tail, 1 - tail], a + events, b + trials - events)
            changes.append({
                "row": row, "table": table, "value": float(result[table][at]), "low": low,
                "high": high, "cases": trials, "events": events, "prior_cases": a + b,
                "how": (f"Beta posterior mean given {trials:g} labelled cases ({events:.4g} "
                        f"expected with the number firing, EM) and a Beta({a:.4g}, {b:.4g}) "
                        f"prior (effective sample size {a + b:.4g}, strength {strength:g})"),
            })
    return changes


def _assemble(model: ModelCore, found: list[dict], label: str, n_cases: int) -> Fit:
    """The new parameters table (values rounded as they will be written), the changes
    and the fitted model."""
    params = model.knowledge.parameters()
    records = params.to_dict("index")
    changes, updates = [], []
    for change in found:
        row = change["row"]
        old = records[row]
        value = float(_significant(change["value"]))
        low, high = _significant(np.array([change["low"], change["high"]]))
        low, high = min(float(low), value), max(float(high), value)
        changes.append({**{k: change[k] for k in ("row", "table", "cases", "events",
                                                  "prior_cases")},
                        "node": old["node"], "parent": old["parent"],
                        "parent_state": old["parent_state"], "old": old["value"],
                        "old_low": old["low"], "old_high": old["high"], "value": value,
                        "low": low, "high": high})
        derivation = (
            f"{change['how']}, matched to the previous number {old['value']:g}, range "
            f"[{old['low']:g}, {old['high']:g}]; previous source ({old['source_kind']}): "
            f"{old['source']}"
            + (f"; previous derivation: {old['derivation']}" if old["derivation"] else ""))
        updates.append((row, value, low, high,
                        f"heelnet fit: {change['cases']:g} of {n_cases} {label}", derivation))
    if updates:
        rows, values, lows, highs, sources, derivations = map(list, zip(*updates))
        params.loc[rows, "value"] = values
        params.loc[rows, "low"] = lows
        params.loc[rows, "high"] = highs
        params.loc[rows, "range_rule"] = ""
        params.loc[rows, "source_kind"] = "data"
        params.loc[rows, "source"] = sources
        params.loc[rows, "derivation"] = derivations
    columns = ["row", "table", "node", "parent", "parent_state", "old", "old_low", "old_high",
               "value", "low", "high", "cases", "events", "prior_cases"]
    frame = pd.DataFrame(changes, columns=columns)
    fitted = type(model).from_parameters(params, model.vocabulary)
    return Fit(fitted, fitted.parameters(), frame, n_cases, model)
