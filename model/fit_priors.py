"""Fit condition baselines and risk ratios from labelled cases (on request only).

**Caveat.** A condition's baseline and risk ratios say how common it is in the
population, per year. A clinic's case series is chosen by who consults, and so by
their conditions: fitted to one, these numbers describe the case mix, not the
population, and every posterior computed with them is biased. Fit them only from a
sample of the population (a practice's whole register, with the people who had none
of the conditions labelled ``none``).

How. For condition c, P(c | parents) = baseline × Π risk ratios of the parents'
states, a *log-binomial* model: log P = θ·x, with θ the logs of the baseline and the
ratios and x which of them apply. The prior of each θ is normal with the number's log
as its mean and the log-width of its range as ±1.645 standard deviations (``strength``
multiplies its precision); the fit is the posterior mode, found by Newton's method with
step-halving that keeps P ≤ 1 for every combination of parent states (the loader's
rule). The new range is ±1.645 posterior standard deviations on the log scale
(Laplace's approximation). Only cases whose parents of c are all known count for c
(exact when context is missing completely at random). A ratio of 0 (a structural
zero) is not fitted, and cases in which it applies are left out of c's fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .uncertainty import Z

if TYPE_CHECKING:
    from .diagnosis import ModelCore

__all__ = ["risk_changes"]

MAX_STEPS = 200
TOLERANCE = 1e-10


def _design(model: ModelCore, condition: str, truth: np.ndarray, context: np.ndarray,
            tables: Sequence[str]):
    """Per complete case: which numbers apply (x), the fixed part of log P, and y."""
    records = model.knowledge.records
    mine = records[(records.node == condition)
                   & records.table.isin(("condition_prior", "risk_ratio"))]
    codes, names = [], []
    for parent in model.knowledge.condition_parents(condition):
        if parent in model.conditions:
            codes.append(truth[:, model.conditions.index(parent)].astype(np.int64))
        else:
            codes.append(context[:, model.context_nodes.index(parent)])
        names.append(parent)
    codes = np.array(codes).reshape(len(names), len(truth))
    complete = (codes >= 0).all(axis=0)
    rows, x_columns, offset = [], [], np.zeros(len(truth))
    impossible = np.zeros(len(truth), dtype=bool)
    for row, rec in mine.iterrows():
        if rec.table == "condition_prior":
            applies = np.ones(len(truth), dtype=bool)
        else:
            k = names.index(rec.parent)
            applies = codes[k] == model.knowledge.states(rec.parent).index(rec.parent_state)
        fitted = rec.table in tables and rec.value > 0 and rec.low < rec.high
        if rec.value == 0:
            impossible |= applies
        elif fitted:
            rows.append(row)
            x_columns.append(applies)
        else:
            offset += np.where(applies, np.log(rec.value), 0.0)
    keep = complete & ~impossible
    x = np.array(x_columns, dtype=float).T.reshape(len(truth), len(rows))[keep]
    y = truth[keep, model.conditions.index(condition)].astype(float)
    return mine, rows, x, offset[keep], y


def _worst(theta: np.ndarray, rows: list[int], mine, parents: dict[int, str]) -> float:
    """log of P(c) for the riskiest combination of parent states under ``theta``."""
    value = dict(zip(rows, np.exp(theta)))
    total = 0.0
    by_parent: dict[str, list[float]] = {}
    for row, rec in mine.iterrows():
        v = value.get(row, rec.value)
        if rec.table == "condition_prior":
            total += np.log(v)
        else:
            by_parent.setdefault(parents[row], []).append(v)
    return total + sum(np.log(max(1.0, *vs)) for vs in by_parent.values())


def _mode(x, offset, y, mu, precision, feasible):
    """Posterior mode of the log-binomial model by damped Newton steps."""

    def objective(theta):
        eta = x @ theta + offset
        if (eta >= 0).any() or not feasible(theta):
            return -np.inf
        return float(y @ eta + (1 - y) @ np.log(-np.expm1(eta))
                     - 0.5 * precision @ (theta - mu) ** 2)

    theta = mu.copy()
    current = objective(theta)
    hessian = -np.diag(precision)
    for _ in range(MAX_STEPS):
        q = np.exp(x @ theta + offset)
        odds = q / (1 - q)
        gradient = x.T @ (y - (1 - y) * odds) - precision * (theta - mu)
        hessian = -(x.T * ((1 - y) * odds / (1 - q))) @ x - np.diag(precision)
        step = np.linalg.solve(hessian, -gradient)
        scale = 1.0
        while scale > 1e-8 and objective(theta + scale * step) < current:
            scale /= 2
        if scale <= 1e-8:
            break
        theta = theta + scale * step
        current = objective(theta)
        if np.abs(scale * step).max() < TOLERANCE:
            break
    return theta, hessian


def risk_changes(model: ModelCore, truth: np.ndarray, context: np.ndarray,
                 tables: Sequence[str], strength: float) -> list[dict]:
    """One change per fitted baseline or risk ratio that has cases behind it."""
    changes = []
    records = model.knowledge.records
    for condition in model.conditions:
        mine, rows, x, offset, y = _design(model, condition, truth, context, tables)
        if not rows or not len(y):
            continue
        value, low, high = (records.loc[rows, c].to_numpy(float) for c in ("value", "low", "high"))
        mu = np.log(value)
        precision = strength * ((2 * Z) / (np.log(high) - np.log(low))) ** 2
        parents = dict(zip(mine.index, mine.parent))
        theta, hessian = _mode(x, offset, y, mu, precision,
                               lambda t, r=rows, m=mine, p=parents: _worst(t, r, m, p) < 0)
        sd = np.sqrt(np.diag(np.linalg.inv(-hessian)))
        for k, row in enumerate(rows):
            cases = float(x[:, k].sum())
            if cases == 0:
                continue
            top = 1.0 if records.loc[row, "table"] == "condition_prior" else np.inf
            changes.append({
                "row": row, "table": records.loc[row, "table"], "value": np.exp(theta[k]),
                "low": np.exp(theta[k] - Z * sd[k]),
                "high": min(top, np.exp(theta[k] + Z * sd[k])), "cases": cases,
                "events": float(y @ x[:, k]), "prior_cases": np.nan,
                "how": (f"posterior mode of a log-binomial model of {condition} given "
                        f"{cases:g} labelled cases ({y @ x[:, k]:g} with it) whose parents "
                        f"of it were known, with a normal prior on the log scale "
                        f"(sd {1 / np.sqrt(precision[k]):.3g}, strength {strength:g})"),
            })
    return changes
