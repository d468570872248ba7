"""Posterior intervals: how far each posterior moves over the numbers' plausible ranges.

Every number of the network has a plausible range ``[low, high]`` (its row's, or
the rule of :mod:`model.knowledge.ranges`), read as the central 90 % of what the
number could be. :func:`posterior_intervals` propagates those ranges to the
posteriors by Monte Carlo:

1. **Draw the numbers.** Each number is drawn independently, on the logit scale
   for a probability and on the log scale for a risk ratio, from a *split normal*
   whose median is the number itself and whose 5th and 95th percentiles are
   ``low`` and ``high`` (two half-normals with their own widths, so a lopsided
   confidence interval is kept as it is). The logit and log scales keep draws in
   their natural limits and make "×/÷ 3" symmetric; a Beta or Gamma could match
   the same two percentiles only by a numerical fit per number, and a Beta of
   small effective sample size puts absurd mass near 0 for a leak of 1e-5. A side
   whose bound is a natural limit (a low of exactly 0, a high of exactly 1) is
   drawn on the plain scale and clipped at the limit.
2. **Keep the tables valid.** The states of a many-state context node (age band,
   sex) are drawn one by one and rescaled to sum to 1 (the proportional
   co-variation that :mod:`model.sensitivity` uses too). A node whose drawn
   baseline × risk ratios exceeds 1 for some combination of parents has all of
   its numbers drawn again, for that draw only, until it does not: the draws of
   such a node follow its ranges *truncated* to the valid region.
3. **Refill, don't recompile.** Each draw is a :class:`~model.network.NetworkTables`
   of the model's own shape; the engine's numbers are filled for all draws at
   once (:meth:`model.engine.Engine.refill_many`) and cached on the model, so a
   second case costs only the kernel runs (about 0.1-0.4 ms a draw).
4. **Read the interval.** The interval is the 5th and 95th percentile of the
   posterior over the draws. With the default :data:`DRAWS` = 1000 draws, each end
   is the 5th (95th) percentile up to a Monte Carlo error of about ±0.7
   percentile points (one standard error of an order statistic,
   ``sqrt(0.05 · 0.95 / 1000)``); the same ``seed`` gives the same interval.

The interval says how much the answer depends on numbers that are not known
exactly; it is not a confidence interval from patient data. Which few numbers
drive a condition's interval comes from :mod:`model.sensitivity`: each number's
exact derivative times the width of its range (``Diagnosis.interval_drivers``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from .checks import Interval, check_parameter
from .knowledge import BOOL_STATES, KnowledgeBase
from .knowledge.ranges import RATIO_TABLES
from .network import NetworkTables

if TYPE_CHECKING:
    from .diagnosis import ModelCore
    from .engine import Engine

__all__ = ["DRAWS", "LEVEL", "SEED", "draw_networks", "posterior_draws", "posterior_intervals"]

#: Parameter draws behind an interval, its coverage, and the default seed.
DRAWS = 1000
LEVEL = 0.9
SEED = 0
#: The standard normal quantile of the upper end of the central LEVEL of a distribution.
Z = NormalDist().inv_cdf(0.5 + LEVEL / 2)
#: Most draws a node gets to land in its valid region before its tables are clipped.
MAX_REDRAWS = 100
#: Condition probabilities computed at a time: (draws × cases × conditions) doubles.
BLOCK = 1 << 21
#: Tables of parameters() that are numbers of the network.
NETWORK_TABLES = ("context_prior", "context_risk_ratio", "condition_prior", "risk_ratio",
                  "likelihood", "leak")


# ----------------------------------------------------------------------------- the numbers


def _forward(x: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ratio, np.log(x), np.log(x) - np.log1p(-x))


def _back(t: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.where(ratio, np.exp(t), 0.5 * (1.0 + np.tanh(0.5 * t)))


def draw_numbers(value: np.ndarray, low: np.ndarray, high: np.ndarray, ratio: np.ndarray,
                 z: np.ndarray) -> np.ndarray:
    """Split-normal draws (on the logit or log scale) from standard normal draws ``z``.

    ``value``, ``low``, ``high`` and ``ratio`` (True for a risk ratio) have one entry
    per number; ``z`` has shape (draws, numbers). The draw at ``z = ±Z`` is exactly
    ``high`` / ``low``, and at ``z = 0`` the value.

    Examples
    --------
    >>> import numpy as np
    >>> x = draw_numbers(np.array([0.5, 2.0]), np.array([0.25, 1.0]), np.array([0.75, 6.0]),
    ...                  np.array([False, True]), np.array([[-Z, Z], [0.0, 0.0]]))
    >>> np.round(x, 12).tolist()
    [[0.25, 6.0], [0.5, 2.0]]
    """
    t_value, t_low, t_high = (_forward(a, ratio) for a in (value, low, high))
    below = z < 0
    with np.errstate(invalid="ignore"):
        width = np.where(below, t_value - t_low, t_high - t_value)
        out = _back(t_value + z * np.nan_to_num(width, posinf=0.0) / Z, ratio)
    plain = ~np.isfinite(width)  # a bound (or the value) at a natural limit
    if plain.any():
        top = np.where(ratio, np.inf, 1.0)
        linear = value + z * np.where(below, value - low, high - value) / Z
        out = np.where(plain, np.clip(linear, 0.0, top), out)
    return out


@dataclass(frozen=True)
class _Layout:
    """Where each network number of a knowledge base goes in its tables."""

    rows: np.ndarray  # record index of each number
    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    ratio: np.ndarray
    links: tuple[np.ndarray, np.ndarray, np.ndarray]  # positions, condition and finding index
    leaks: tuple[np.ndarray, np.ndarray]  # positions, finding index
    # node -> (base position or per-state positions, [(parent, per-state positions)])
    risk: dict[str, tuple[int, list[tuple[str, list[int]]]]]
    plain: dict[str, list[int]]  # context nodes without parents: position of each state


def _layout(kb: KnowledgeBase, base: NetworkTables) -> _Layout:
    records = kb.records[kb.records.table.isin(NETWORK_TABLES)]
    pos = {(r.table, r.node, r.state if r.table == "context_prior" else "", r.parent,
            r.parent_state): k for k, r in enumerate(records.itertuples())}
    cond = {c: i for i, c in enumerate(base.conditions)}
    find = {f: j for j, f in enumerate(base.findings)}
    like = records.table.to_numpy() == "likelihood"
    leak = records.table.to_numpy() == "leak"
    links = (np.flatnonzero(like), np.array([cond[c] for c in records.parent[like]], dtype=int),
             np.array([find[f] for f in records.node[like]], dtype=int))
    leaks = (np.flatnonzero(leak), np.array([find[f] for f in records.node[leak]], dtype=int))
    risk: dict[str, tuple[int, list[tuple[str, list[int]]]]] = {}
    plain: dict[str, list[int]] = {}

    def ratios(table: str, node: str, given: dict[str, dict[str, float]]):
        return [(p, [pos.get((table, node, "", p, s), -1) for s in kb.states(p)])
                for p in given]

    for c in base.conditions:
        risk[c] = (pos[("condition_prior", c, "", "", "")],
                   ratios("risk_ratio", c, kb.risk_ratios[c]))
    for j, x in enumerate(base.context):
        if base.context_parents[j]:
            risk[x] = (pos[("context_prior", x, "yes", "", "")],
                       ratios("context_risk_ratio", x, kb.context_risk_ratios[x]))
        else:
            plain[x] = [pos.get(("context_prior", x, s, "", ""), -1)
                        for s in base.context_states[j]]
    num = lambda col: records[col].to_numpy(dtype=float)  # noqa: E731
    return _Layout(records.index.to_numpy(), num("value"), num("low"), num("high"),
                   records.table.isin(RATIO_TABLES).to_numpy(), links, leaks, risk, plain)


def _risk_tables(values: np.ndarray, spec: tuple[int, list[tuple[str, list[int]]]]
                 ) -> np.ndarray:
    """(draws, *parent states): baseline × one risk-ratio vector per parent."""
    base, parents = spec
    table = values[:, base]
    for _, positions in parents:
        vector = np.ones((len(values), len(positions)))
        for k, p in enumerate(positions):
            if p >= 0:
                vector[:, k] = values[:, p]
        table = table[..., None] * vector.reshape(len(values), *([1] * (table.ndim - 1)), -1)
    return table


def _valid_risk(values: np.ndarray, spec, layout: _Layout, rng: np.random.Generator
                ) -> np.ndarray:
    """The node's table for every draw, its numbers drawn again where it exceeds 1."""
    table = _risk_tables(values, spec)
    mine = [spec[0], *(p for _, ps in spec[1] for p in ps if p >= 0)]
    for _ in range(MAX_REDRAWS):
        bad = table.reshape(len(values), -1).max(axis=1) > 1.0
        if not bad.any():
            return table
        z = rng.standard_normal((int(bad.sum()), len(mine)))
        sub = values[bad]
        sub[:, mine] = draw_numbers(layout.value[mine], layout.low[mine], layout.high[mine],
                                    layout.ratio[mine], z)
        values[bad] = sub
        table[bad] = _risk_tables(values[bad], spec)
    return np.minimum(table, 1.0)


def draw_networks(kb: KnowledgeBase, base: NetworkTables, draws: int,
                  rng: np.random.Generator) -> list[NetworkTables]:
    """``draws`` networks of ``base``'s shape, every number drawn from its range."""
    layout = _layout(kb, base)
    z = rng.standard_normal((draws, len(layout.rows)))
    values = draw_numbers(layout.value, layout.low, layout.high, layout.ratio, z)
    link = np.broadcast_to(base.link, (draws, *base.link.shape)).copy()
    at, ci, fi = layout.links
    link[:, ci, fi] = np.maximum(values[:, at], np.finfo(float).tiny)  # a link stays a link
    leak = np.broadcast_to(base.leak, (draws, len(base.leak))).copy()
    leak[:, layout.leaks[1]] = np.minimum(values[:, layout.leaks[0]], np.nextafter(1.0, 0.0))
    conditions = [_valid_risk(values, layout.risk[c], layout, rng) for c in base.conditions]
    context = []
    for j, x in enumerate(base.context):
        if x in layout.risk:
            yes = _valid_risk(values, layout.risk[x], layout, rng)
            context.append(np.stack([1.0 - yes, yes], axis=-1))
        elif base.context_states[j] == BOOL_STATES:
            yes = values[:, layout.plain[x][1]]
            context.append(np.stack([1.0 - yes, yes], axis=-1))
        else:
            shares = values[:, layout.plain[x]]
            context.append(shares / shares.sum(axis=1, keepdims=True))
    return [replace(base, link=link[d], leak=leak[d],
                    condition_tables=tuple(t[d, ...] for t in conditions),
                    context_tables=tuple(t[d, ...] for t in context))
            for d in range(draws)]


# ----------------------------------------------------------------------------- posteriors

_ENGINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _engines(model: ModelCore, draws: int, seed: int) -> list[Engine]:
    """The engines of ``draws`` parameter draws of ``model`` (cached per draws and seed)."""
    cache = _ENGINES.setdefault(model, {})
    key = (draws, seed)
    if key not in cache:
        if len(cache) >= 2:
            cache.pop(next(iter(cache)))
        rng = np.random.default_rng(seed)
        networks = draw_networks(model.knowledge, model.tables, draws, rng)
        cache[key] = model.engine.refill_many(networks)
    return cache[key]


def _check(draws: int, seed: int, owner: str) -> None:
    check_parameter(owner, "draws", draws, Interval(int, 20, None))
    check_parameter(owner, "seed", seed, Interval(int, 0, None))


def posterior_draws(model: ModelCore, context: np.ndarray, findings: np.ndarray, *,
                    draws: int = DRAWS, seed: int = SEED) -> np.ndarray:
    """P(condition | case) under each parameter draw: (draws, n_cases, n_conditions)."""
    _check(draws, seed, "posterior_draws")
    engines = _engines(model, draws, seed)
    return np.stack([e.posteriors(context, findings) for e in engines])


def posterior_intervals(model: ModelCore, context: np.ndarray, findings: np.ndarray, *,
                        draws: int = DRAWS, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """The 90 % interval of every posterior over the numbers' ranges: ``(low, high)``,
    each (n_cases, n_conditions) in ``model.conditions`` order (encoded cases as for
    :meth:`ModelCore.infer`).

    Examples
    --------
    >>> from model import Model
    >>> m = Model.default()
    >>> low, high = posterior_intervals(m, *m.encoding.encode([{"palpable_gap": True}]))
    >>> p = m.infer(*m.encoding.encode([{"palpable_gap": True}]))
    >>> bool((low <= p + 1e-12).all() and (p <= high + 1e-12).all())
    True
    """
    _check(draws, seed, "posterior_intervals")
    engines = _engines(model, draws, seed)
    n, width = len(context), len(model.conditions)
    low, high = np.empty((n, width)), np.empty((n, width))
    step = max(1, BLOCK // (draws * width))
    tail = (1.0 - LEVEL) / 2
    for start in range(0, n, step):
        part = slice(start, start + step)
        p = np.stack([e.posteriors(context[part], findings[part]) for e in engines])
        low[part], high[part] = np.quantile(p, [tail, 1.0 - tail], axis=0)
    return low, high
