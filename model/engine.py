"""Exact, vectorised batch inference for heelnet's three-layer network.

The network has three layers: independent context roots (``age_band``, ``sex`` and
yes/no items), conditions whose CPDs depend on context and, for a few, on another
condition, and findings that are noisy-OR functions of the conditions with a leak:
P(f = no | c) = (1 - leak_f) * prod_{i present} (1 - p_if).

How a posterior is computed (every step is an identity, nothing is sampled or
truncated, so the result is the exact posterior up to floating-point rounding):

1. **Absent findings factorise.** P(all of F- absent | c) = prod_f (1 - leak_f) *
   prod_{i present} prod_{f in F-} (1 - p_if): a weight on each condition's "yes".
   Findings that were not asked sum out to 1 and are simply left out.
2. **Present findings by Quickscore** (Heckerman 1989). For the k present findings
   F+, P(F+ present, F- absent | c) = sum_{S subset of F+} (-1)^|S|
   P(F- and S absent | c), so each of the 2^k terms factorises over conditions
   like step 1.
3. **Conditions linked by a condition -> condition edge form a block** whose 2^m
   joint states are enumerated, so blocks are independent given the context.
4. **Context is summed exactly.** Each block becomes a tensor over its context
   parents; a context node contributes its prior vector (times a one-hot of the
   given state when it is known, so unknown context is marginalised, never
   guessed), and one ``np.einsum`` over the context axes, with a precomputed
   contraction path, gives P(evidence) and, through an extra "replica" axis in
   which replica i keeps only condition i = yes, every numerator P(c_i = yes,
   evidence) at once. Cases are grouped by k, so each einsum is a dense batch.
5. **Rounding is checked, not hoped for.** Quickscore's terms alternate in sign; when
   the evidence is improbable they cancel and lose digits. Every case carries a
   bound on that loss (a multiple of machine epsilon times the sum of the absolute
   terms). A case whose bound on any posterior exceeds ``tol``, or with more than
   ``max_quickscore`` present findings, is recomputed by an exact contraction with
   only non-negative terms: one einsum over the context and condition variables
   per case in which each present finding is a factor over its parents.

All numbers are read from the network passed to :meth:`CompiledNetwork.from_network`
(states are matched by name through each CPD's ``state_names``), so edited priors
are followed. Each finding CPD is checked to be exactly a leaky noisy-OR.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["CompiledNetwork"]

_YES_NO = ("no", "yes")
_EPS = np.finfo(np.float64).eps
_LOG0 = -1e4  # stands in for log(0): exp() of any sum involving it is exactly 0.0


def _canonical(cpd, order: dict[str, tuple[str, ...]]) -> np.ndarray:
    """Return a CPD's table with axes ``cpd.variables`` and states in ``order``."""
    values = np.asarray(cpd.values, dtype=np.float64)
    index = []
    for var in cpd.variables:
        names = [str(s) for s in cpd.state_names[var]]
        if var not in order:
            raise ValueError(f"{cpd.variables[0]!r} has parent {var!r}, which is not modelled")
        if sorted(names) != sorted(order[var]):
            raise ValueError(f"{var!r} has states {names}, expected {list(order[var])}")
        index.append([names.index(s) for s in order[var]])
    return values[np.ix_(*index)]


def _log(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), _LOG0)


@functools.cache
def _subsets(k: int) -> tuple[np.ndarray, np.ndarray]:
    """(2^k, k) 0/1 matrix of all subsets and their signs (-1)^|S|."""
    bits = ((np.arange(2**k)[:, None] >> np.arange(k)) & 1).astype(np.float64)
    return bits, 1.0 - 2.0 * (bits.sum(1) % 2)


@dataclass
class _Block:
    conds: list[int]  # condition indices
    ctx: list[int]  # context parents (indices into CompiledNetwork.context), sorted
    bits_t: np.ndarray  # (m, 2^m) joint states as columns
    table: np.ndarray  # (2^m, *ctx dims) P(block state | context)
    yes_rows: list[np.ndarray]  # per condition of the block: states where it is "yes"


class CompiledNetwork:
    """A pgmpy network compiled to arrays for exact batch posteriors.

    Build it with :meth:`from_network`; then :meth:`posteriors` and
    :meth:`log_evidence` take integer-coded batches of cases.

    Attributes
    ----------
    context, conditions, findings : tuple of str
        Node names in the column order of the input and output arrays.
    context_states : dict of str to tuple of str
        State names per context node; a context value is an index into these.
    tol : float
        Largest accepted rounding-error bound on a posterior from the Quickscore path.
    max_quickscore : int
        Cases with more present findings use the exact non-negative path.
    last_exact_cases : int
        How many cases of the last call used the non-negative path.
    """

    def __init__(self) -> None:  # use from_network
        self.last_exact_cases = self.last_wide_cases = 0

    @classmethod
    def from_network(
        cls,
        net,
        context: Sequence[str],
        conditions: Sequence[str],
        findings: Sequence[str],
        *,
        tol: float = 1e-11,
        max_quickscore: int = 12,
    ) -> CompiledNetwork:
        """Compile ``net`` (a pgmpy ``DiscreteBayesianNetwork``).

        Parameters
        ----------
        net : pgmpy.models.DiscreteBayesianNetwork
            Context nodes are roots; conditions have context/condition parents;
            findings have condition parents and leaky noisy-OR tables.
        context, conditions, findings : sequence of str
            Node names, fixing the column order of the arrays.
        tol, max_quickscore : float, int
            See the class attributes.

        Raises
        ------
        ValueError
            If a node is missing or misplaced, has unexpected states, or a finding's
            table is not a leaky noisy-OR (the message names the node).
        """
        self = cls()
        self.context, self.conditions, self.findings = (
            tuple(context), tuple(conditions), tuple(findings))
        self.tol, self.max_quickscore = float(tol), int(max_quickscore)
        cpds = {}
        for node in (*self.context, *self.conditions, *self.findings):
            cpd = net.get_cpds(node)
            if cpd is None:
                raise ValueError(f"node {node!r} has no CPD in the network")
            cpds[node] = cpd
        order = {x: tuple(str(s) for s in cpds[x].state_names[x]) for x in self.context}
        order |= dict.fromkeys((*self.conditions, *self.findings), _YES_NO)
        self.context_states = {x: order[x] for x in self.context}
        xi = {x: j for j, x in enumerate(self.context)}
        ci = {c: i for i, c in enumerate(self.conditions)}
        self._prior = []
        for x in self.context:
            if len(cpds[x].variables) != 1:
                raise ValueError(f"context node {x!r} must be a root")
            self._prior.append(_canonical(cpds[x], order))
        self._dims = [len(p) for p in self._prior]
        self._build_blocks(cpds, order, xi, ci)
        self._build_findings(cpds, order, ci)
        self._wide = np.longdouble
        self.max_rows = 1 << 22
        return self

    # compilation ----------------------------------------------------------------
    def _build_blocks(self, cpds, order, xi, ci) -> None:
        n_c = len(self.conditions)
        tables, root = {}, list(range(n_c))

        def find(i: int) -> int:
            while root[i] != i:
                i = root[i]
            return i

        for c in self.conditions:
            parents = list(cpds[c].variables[1:])
            for p in parents:
                if p not in xi and p not in ci:
                    raise ValueError(f"condition {c!r} has parent {p!r}, not context/condition")
                if p in ci:
                    root[find(ci[p])] = find(ci[c])
            tables[c] = (_canonical(cpds[c], order), parents)
        self._blocks: list[_Block] = []
        for r in sorted({find(i) for i in range(n_c)}):
            conds = [i for i in range(n_c) if find(i) == r]
            ctx = sorted({xi[p] for i in conds for p in tables[self.conditions[i]][1] if p in xi})
            dims = [self._dims[j] for j in ctx]
            states = np.array(list(itertools.product((0, 1), repeat=len(conds))), dtype=int)
            table = np.ones((len(states), *dims))
            for s, state in enumerate(states):
                bit = {self.conditions[i]: state[a] for a, i in enumerate(conds)}
                for i in conds:
                    tab, parents = tables[self.conditions[i]]
                    idx = [bit[self.conditions[i]]]
                    ctx_axes = []
                    for p in parents:
                        if p in ci:
                            idx.append(bit[p])
                        else:
                            idx.append(slice(None))
                            ctx_axes.append(ctx.index(xi[p]))
                    part = tab[tuple(idx)]  # axes: this condition's context parents
                    part = np.moveaxis(part.reshape(part.shape + (1,) * (len(ctx) - part.ndim)),
                                       list(range(len(ctx_axes))), ctx_axes)
                    table[s] *= part
            yes_rows = [states[:, a] == 1 for a in range(len(conds))]
            self._blocks.append(_Block(conds, ctx, states.T.astype(float), table, yes_rows))
        self._cond_tables = tables
        # every joint context configuration, in mixed radix (first node slowest)
        self._stride = np.array([int(np.prod(self._dims[j + 1:])) for j in range(len(self._dims))],
                                dtype=np.int64)
        configs = np.array(list(itertools.product(*map(range, self._dims))), dtype=np.int64)
        configs = configs.reshape(-1, len(self._dims))
        self._config_prior = np.prod([p[configs[:, j]] for j, p in enumerate(self._prior)], axis=0)
        self._config_tables = [blk.table[(slice(None), *configs[:, blk.ctx].T)]
                               for blk in self._blocks]
        self._offsets: dict[bytes, np.ndarray] = {}

    def _build_findings(self, cpds, order, ci) -> None:
        n_f, n_c = len(self.findings), len(self.conditions)
        one_minus_p = np.ones((n_f, n_c))
        leak = np.zeros(n_f)
        self._fparents: list[list[int]] = []
        for f, name in enumerate(self.findings):
            parents = list(cpds[name].variables[1:])
            if any(p not in ci for p in parents):
                raise ValueError(f"finding {name!r} has a parent that is not a condition")
            tab = _canonical(cpds[name], order)
            absent = tab[0]
            base = absent[(0,) * len(parents)]
            if base <= 0:
                raise ValueError(f"finding {name!r}: leak is 1, noisy-OR links undefined")
            keep = []
            for a in range(len(parents)):
                e = [0] * len(parents)
                e[a] = 1
                keep.append(absent[tuple(e)] / base)
            recon = base * functools.reduce(np.multiply.outer, [np.array([1.0, q]) for q in keep],
                                            np.array(1.0))
            bad = np.max(np.abs(recon - absent), initial=0.0) > 1e-12 or any(
                q > 1 + 1e-12 for q in keep) or np.max(np.abs(tab[1] - (1 - absent))) > 1e-12
            if bad:
                raise ValueError(f"finding {name!r}: table is not a leaky noisy-OR")
            leak[f] = 1.0 - base
            for a, p in enumerate(parents):
                one_minus_p[f, ci[p]] = min(keep[a], 1.0)
            self._fparents.append([ci[p] for p in parents])
        self._keep = one_minus_p  # (F, C): 1 - p_if, 1 where not linked
        self._logm = _log(one_minus_p)
        self._leak = leak
        self._logkeep = _log(1.0 - leak)

    # inference ------------------------------------------------------------------
    def posteriors(self, context: np.ndarray, findings: np.ndarray) -> np.ndarray:
        """P(condition = yes | evidence) for a batch of cases.

        Parameters
        ----------
        context : int array (n_cases, n_context)
            State index per ``context_states``; -1 = unknown (marginalised).
        findings : int array (n_cases, n_findings)
            1 present, 0 absent, -1 not asked (marginalised).

        Returns
        -------
        ndarray of float64, shape (n_cases, n_conditions)
        """
        return self._infer(context, findings)[0]

    def log_evidence(self, context: np.ndarray, findings: np.ndarray) -> np.ndarray:
        """Natural log of P(evidence) per case (arrays as in :meth:`posteriors`)."""
        return self._infer(context, findings)[1]

    def _context_vectors(self, x: np.ndarray) -> list[np.ndarray]:
        out = []
        for j, prior in enumerate(self._prior):
            col = x[:, j]
            if np.any(col >= len(prior)) or np.any(col < -1):
                raise ValueError(f"context {self.context[j]!r}: state index out of range")
            v = np.broadcast_to(prior, (len(x), len(prior))).copy()
            known = col >= 0
            v[known] *= np.arange(len(prior)) == col[known, None]
            out.append(v)
        return out

    def _infer(self, context, findings) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(context, dtype=np.int64).reshape(-1, len(self.context))
        f = np.asarray(findings, dtype=np.int8).reshape(-1, len(self.findings))
        if len(x) != len(f):
            raise ValueError("context and findings must have the same number of rows")
        if np.any((f < -1) | (f > 1)):
            raise ValueError("findings must be 1 (present), 0 (absent) or -1 (not asked)")
        v = self._context_vectors(x)
        n = len(x)
        post, logev = np.empty((n, len(self.conditions))), np.empty(n)
        k_all = (f == 1).sum(1)
        exact: list[int] = []
        self.last_wide_cases = 0
        for k in np.unique(k_all):
            idx = np.flatnonzero(k_all == k)
            if k > self.max_quickscore:
                exact.extend(idx.tolist())
                continue
            size = np.prod(np.where(x[idx] < 0, self._dims, 1), axis=1) << int(k)
            exact.extend(idx[size > self.max_rows].tolist())  # too big to hold in memory
            idx, size = idx[size <= self.max_rows], size[size <= self.max_rows]
            if not len(idx):
                continue
            cost = np.cumsum(size)
            chunk = cost // max(1 << 18, int(cost[0]) + 1)
            for c in np.unique(chunk):
                rows = idx[chunk == c]
                p, le, ok = self._quickscore(int(k), x[rows], f[rows])
                if not ok.all() and self._wide is not np.float64:  # retry in extended precision
                    bad = rows[~ok]
                    self.last_wide_cases += len(bad)
                    p[~ok], le[~ok], ok[~ok] = self._quickscore(int(k), x[bad], f[bad], self._wide)
                post[rows], logev[rows] = p, le
                exact.extend(rows[~ok].tolist())
        for r in exact:
            post[r], logev[r] = self._exact_case([vj[r] for vj in v], f[r])
        self.last_exact_cases = len(exact)
        return post, logev

    def _rows(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Context configurations consistent with each case: (config ids, segment starts)."""
        known = x >= 0
        base = (np.where(known, x, 0) * self._stride).sum(1)
        parts = []
        for n in range(len(x)):
            key = known[n].tobytes()
            off = self._offsets.get(key)
            if off is None:
                off = np.zeros(1, dtype=np.int64)
                for j in np.flatnonzero(~known[n]):
                    off = (off[:, None] + np.arange(self._dims[j]) * self._stride[j]).ravel()
                self._offsets[key] = off
            parts.append(base[n] + off)
        sizes = np.array([len(p) for p in parts])
        return np.concatenate(parts), np.concatenate(([0], np.cumsum(sizes)[:-1]))

    def _quickscore(self, k: int, x: np.ndarray, f: np.ndarray, dtype=np.float64):
        """Quickscore for cases with exactly k present findings; also returns ok flags."""
        nc, n_cond = len(f), len(self.conditions)
        bits, sign = _subsets(k)
        bits, sign = bits.astype(dtype), sign.astype(dtype)
        pos = np.nonzero(f == 1)[1].reshape(nc, k)
        neg = (f == 0).astype(dtype)
        logm, logkeep = self._logm.astype(dtype), self._logkeep.astype(dtype)
        logw = (neg @ logm)[:, None, :] + bits @ logm[pos]  # (nc, S, C)
        logl = (neg @ logkeep)[:, None] + logkeep[pos] @ bits.T  # (nc, S)
        xr, starts = self._rows(x)
        cid = np.repeat(np.arange(nc), np.diff(np.append(starts, len(xr))))
        z = np.broadcast_to(self._config_prior.astype(dtype)[xr, None], (len(xr), len(bits)))
        parts = []
        for b, blk in enumerate(self._blocks):
            wt = np.exp(logw[:, :, blk.conds] @ blk.bits_t.astype(dtype))[cid]  # (rows, S, 2^m)
            tab = self._config_tables[b][:, xr].astype(dtype)  # (2^m, rows)
            t = np.einsum("sr,rSs->rS", tab, wt)
            yes = [np.einsum("sr,rSs->rS", tab[sel], wt[:, :, sel]) for sel in blk.yes_rows]
            z = z * t
            parts.append((t, yes))
        zc = np.add.reduceat(z, starts, axis=0)  # (nc, S)
        num = np.empty((nc, len(bits), n_cond), dtype=dtype)
        for blk, (t, yes) in zip(self._blocks, parts, strict=True):
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = z / t
            ratio[t == 0] = 0.0
            for i, y in zip(blk.conds, yes, strict=True):
                num[:, :, i] = np.add.reduceat(ratio * y, starts, axis=0)
        top = logl.max(1)
        e = np.exp(logl - top[:, None])
        terms = np.concatenate([zc[:, :, None], num], axis=2) * e[:, :, None]  # (nc, S, R)
        tot = np.einsum("s,nsr->nr", sign, terms)
        mag = terms.sum(1)
        eps = np.finfo(dtype).eps
        zt = tot[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            p = tot[:, 1:] / zt[:, None]
            bound = (4 * (k + 2 * n_cond + len(self.context) + 8)) * eps * mag
            err = (bound[:, 1:] + np.abs(p) * bound[:, :1]) / (zt - bound[:, 0])[:, None]
            ok = (zt > bound[:, 0]) & np.all(err <= self.tol, axis=1)
            logev = np.log(zt) + top
        return (np.clip(p, 0.0, 1.0).astype(np.float64), logev.astype(np.float64), ok)

    def _exact_case(self, v: list[np.ndarray], f: np.ndarray) -> tuple[np.ndarray, float]:
        """One case by a non-negative contraction over context and conditions."""
        n_x, n_c = len(self.context), len(self.conditions)
        r_ax = n_x + n_c
        xi = {x: j for j, x in enumerate(self.context)}
        ci = {c: i for i, c in enumerate(self.conditions)}
        neg = f == 0
        keep_neg = np.exp((neg[:, None] * self._logm).sum(0))  # weight of "yes" per condition
        ops: list = []
        for j in range(n_x):
            ops += [v[j], [j]]
        for i, c in enumerate(self.conditions):
            tab, parents = self._cond_tables[c]
            mask = np.ones((1 + n_c, 2))
            mask[1 + i, 0] = 0.0
            fac = tab * np.array([1.0, keep_neg[i]]).reshape((2,) + (1,) * len(parents))
            axes = [xi[p] if p in xi else n_x + ci[p] for p in parents]
            ops += [mask.reshape((1 + n_c, 2) + (1,) * len(parents)) * fac[None],
                    [r_ax, n_x + i, *axes]]
        for fi in np.flatnonzero(f == 1):
            par = self._fparents[fi]
            q = functools.reduce(np.multiply.outer,
                                 [np.array([1.0, self._keep[fi, i]]) for i in par], np.array(1.0))
            ops += [1.0 - (1.0 - self._leak[fi]) * q, [n_x + i for i in par]]
        out = np.einsum(*ops, [r_ax], optimize="greedy")
        z = out[0] * np.exp(self._logkeep[neg].sum())
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.clip(out[1:] / out[0], 0.0, 1.0), float(np.log(z))
