"""Exact, vectorised batch inference for heelnet's three-layer network.

The network has independent context roots, conditions that depend on context (and
for a few, on one other condition), and findings that are leaky noisy-ORs of the
conditions: P(f = no | c) = (1 - leak_f) · Π_{i present} (1 - p_if).

How the posterior of every condition is computed, for many cases at once:

1. **Blocks.** Conditions joined by a condition → condition edge form a block whose
   2^m joint states are enumerated; given the context, blocks are independent.
2. **Context.** A context node used by one block only is summed into that block's
   prior (its prior times the case's evidence, so an unknown item is marginalised).
   Context nodes shared by several blocks are enumerated: each case becomes one
   *row* per combination of its unknown shared items, weighted by their prior.
3. **Absent findings factorise**: each block state gets the weight
   Π_{f absent} Π_{c present} (1 - p_cf); not-asked findings sum out and vanish.
4. **Present findings** are handled by a forward pass over the blocks whose state
   is *which of the k present findings have already been caused* (2^k states,
   starting from the leaks). A block in state s causes each present finding j with
   probability r_j(s) = 1 - Π_{c in s}(1 - p_cj), applied one finding at a time.
   A backward pass gives, with the forward messages, P(block state, evidence).
   Every quantity is a sum of non-negative terms, so nothing cancels: unlike
   Quickscore's inclusion-exclusion (Heckerman 1989), which loses most digits when
   findings are rare, the result is exact to rounding (relative error ~1e-15).
5. **Rows are summed back** into cases: P(evidence) and P(c = yes, evidence), whose
   ratio is the posterior. Cases with more than ``max_positive`` present findings
   are answered by pgmpy's VariableElimination, also exact.

Two implementations compute these sums (``engine=`` in :meth:`CompiledNetwork.from_network`):

* ``"numpy"``, the readable reference (:meth:`CompiledNetwork._group`): cases are
  grouped by k so every array is dense, (2^k, rows) messages, one numpy call per
  open/close/block step; cost about rows · blocks · k · 2^k, plus numpy overhead.
* ``"numba"`` (the default when numba is installed): a compiled kernel,
  ``_k_case``, runs the same schedule of events on one case at a time (rows of
  that case only, the last opened context node varying fastest; the same block
  tables, absent-finding weights and cause probabilities, flattened at compile
  time), and ``_k_batch`` runs it over the cases with ``numba.prange``. Each case is
  computed by one thread from start to end, so results do not depend on the thread
  count. It adds one exact refinement, **live bits**: present finding j can only
  become caused in the blocks that have a condition linked to it, so its bit is
  added to the message just before the first such block (split by its leak:
  1 - leak_j for "not caused", leak_j for "caused") and removed just after the last
  one, keeping the "caused" half only (P(f_j = yes) needs it caused by the end).
  Messages then span 2^(live findings) instead of 2^k; the backward pass undoes
  both steps by their transposes. Still only non-negative terms are added. The
  kernel keeps each block's incoming forward message for the backward pass, so a
  case needs about Σ_blocks rows · 2^live doubles; a case needing more than
  ``_WORKSPACE`` is split into sub-cases by fixing unknown shared context nodes
  (P(e) = Σ_v P(e, x = v), likewise P(c, e)), whose results are added.
  The kernels compile on first use and are cached on disk (``cache=True``).

Every number is read from the pgmpy network given to :meth:`CompiledNetwork.from_network`
(states matched by name), so the engine follows edited priors; each finding table
is checked to be exactly a leaky noisy-OR.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CompiledNetwork"]

_YES_NO = ("no", "yes")
_LOG0 = -1e4  # stands in for log(0): exp() of any sum that includes it is exactly 0.0
_CELLS = 1 << 18  # rows · 2^k per chunk: bounds memory at ~100 MB whatever the batch
_WORKSPACE = 1 << 22  # doubles of kernel workspace per case (32 MB); wider cases are split
_CASES = 1 << 16  # cases per kernel call, so temporary copies stay small
_PARALLEL_FROM = 256  # smaller batches run on the calling thread


def _canonical(cpd: Any, order: dict[str, tuple[str, ...]]) -> np.ndarray:
    """A CPD's table with axes ``cpd.variables`` and states in the order ``order``."""
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


@dataclass(frozen=True)
class _Block:
    conds: tuple[int, ...]  # condition indices
    bits: np.ndarray  # (2^m, m) 0/1: which of conds are present in each joint state
    shared: tuple[int, ...]  # context parents enumerated per row
    local: tuple[int, ...]  # context parents summed into this block alone
    table: np.ndarray  # (*shared dims, *local dims, 2^m): P(block state | context)
    cause: np.ndarray  # (2^m, n_findings): P(state causes finding) = 1 - Π(1 - p_cf)


class CompiledNetwork:
    """A pgmpy network compiled to arrays for exact batch posteriors.

    Build it with :meth:`from_network`; :meth:`posteriors` and :meth:`log_evidence`
    take integer-coded batches of cases.

    Attributes
    ----------
    context, conditions, findings : tuple of str
        Node names, in the column order of the input and output arrays.
    context_states : dict of str to tuple of str
        State names of each context node; a context value is an index into these.
    max_positive : int
        Cases with more present findings go to pgmpy's VariableElimination.
    engine : str
        ``"numba"`` or ``"numpy"``: which implementation :meth:`posteriors` runs.
    """

    context: tuple[str, ...]
    conditions: tuple[str, ...]
    findings: tuple[str, ...]
    context_states: dict[str, tuple[str, ...]]
    max_positive: int
    engine: str

    @classmethod
    def from_network(
        cls,
        net: Any,
        context: Sequence[str],
        conditions: Sequence[str],
        findings: Sequence[str],
        *,
        max_positive: int = 14,
        engine: str = "auto",
    ) -> CompiledNetwork:
        """Compile ``net``, a pgmpy ``DiscreteBayesianNetwork`` of heelnet's shape.

        ``engine`` is ``"numba"`` (the compiled per-case kernel), ``"numpy"`` (the
        vectorised reference implementation, slower) or ``"auto"``: numba when it can
        be imported. Both compute the same sums.

        Raises
        ------
        ValueError
            If a node is missing or misplaced, has unexpected states, or a finding's
            table is not a leaky noisy-OR (the message names the node), or ``engine``
            is unknown.
        """
        if engine not in ("auto", "numba", "numpy"):
            raise ValueError(f"engine must be 'auto', 'numba' or 'numpy', not {engine!r}")
        self = cls()
        self._net = net
        self.context, self.conditions, self.findings = (
            tuple(context), tuple(conditions), tuple(findings))  # fmt: skip
        self.max_positive = int(max_positive)
        cpds = {}
        for node in (*self.context, *self.conditions, *self.findings):
            cpd = net.get_cpds(node)
            if cpd is None:
                raise ValueError(f"node {node!r} has no CPD in the network")
            cpds[node] = cpd
        order = {x: tuple(str(s) for s in cpds[x].state_names[x]) for x in self.context}
        order |= dict.fromkeys((*self.conditions, *self.findings), _YES_NO)
        self.context_states = {x: order[x] for x in self.context}
        self._prior = []
        for x in self.context:
            if len(cpds[x].variables) != 1:
                raise ValueError(f"context node {x!r} must be a root")
            self._prior.append(_canonical(cpds[x], order))
        self._compile_blocks(cpds, order)
        self._compile_findings(cpds, order)
        self._compile_schedule()
        self._compile_flat()
        self.engine = "numpy" if engine == "numpy" else "numba"
        if self.engine == "numba" and _numba_missing():
            if engine == "numba":
                raise ImportError("engine='numba' needs the numba package")
            self.engine = "numpy"
        return self

    # compilation ------------------------------------------------------------------
    def _compile_blocks(self, cpds: dict[str, Any], order: dict[str, tuple[str, ...]]) -> None:
        xi = {x: j for j, x in enumerate(self.context)}
        ci = {c: i for i, c in enumerate(self.conditions)}
        group = list(range(len(self.conditions)))  # union-find over condition edges

        def find(i: int) -> int:
            while group[i] != i:
                i = group[i]
            return i

        parents = {}
        canonical = {c: _canonical(cpds[c], order) for c in self.conditions}
        for c in self.conditions:
            parents[c] = list(cpds[c].variables[1:])
            for p in parents[c]:
                if p not in xi and p not in ci:
                    raise ValueError(f"condition {c!r} has parent {p!r}, not context/condition")
                if p in ci:
                    group[find(ci[p])] = find(ci[c])
        members = {}
        for i in range(len(self.conditions)):
            members.setdefault(find(i), []).append(i)
        ctx_of = {r: sorted({xi[p] for i in m for p in parents[self.conditions[i]] if p in xi})
                  for r, m in members.items()}  # fmt: skip
        uses = np.zeros(len(self.context), dtype=int)
        for ctx in ctx_of.values():
            uses[ctx] += 1
        self._shared = tuple(int(j) for j in np.flatnonzero(uses > 1))
        self._blocks = []
        for r, conds in members.items():
            shared = tuple(j for j in ctx_of[r] if uses[j] > 1)
            local = tuple(j for j in ctx_of[r] if uses[j] == 1)
            axes = [*shared, *local]
            bits = np.array(list(itertools.product((0, 1), repeat=len(conds))), dtype=int)
            table = np.ones((*(len(self._prior[j]) for j in axes), len(bits)))
            names = [self.context[j] for j in axes]
            for s, state in enumerate(bits):  # P(state | context) on a grid over `axes`
                at = {self.conditions[i]: int(state[a]) for a, i in enumerate(conds)}
                for i in conds:
                    name = self.conditions[i]
                    picked = canonical[name][at[name]]  # axes: parents of `name`
                    picked = picked[tuple(at[q] if q in ci else slice(None)
                                          for q in parents[name])]  # fmt: skip
                    ctx_parents = [q for q in parents[name] if q not in ci]
                    ranked = sorted(range(len(ctx_parents)),
                                    key=lambda a: names.index(ctx_parents[a]))
                    picked = np.transpose(picked, ranked)  # parents now in `names` order
                    shape = [len(self._prior[axes[a]]) if names[a] in ctx_parents else 1
                             for a in range(len(names))]  # fmt: skip
                    table[..., s] *= picked.reshape(shape)
            self._blocks.append(_Block(tuple(conds), bits, shared, local, table, np.empty(0)))

    def _compile_schedule(self) -> None:
        """Order the blocks and the opening/closing of shared context nodes.

        A shared context node that a case leaves unknown is summed out by splitting
        the case's rows into one per state when the node is *opened* and adding them
        back when it is *closed*, after the last block that uses it. Opens and closes
        nest (a stack), so closing is a sum over contiguous rows, and each node is
        opened once. The block order is searched to keep few nodes open at a time.
        """
        card = tuple(len(self._prior[j]) for j in range(len(self.context)))
        needs = tuple(tuple(b.shared) for b in self._blocks)
        events = _schedule(needs, card)
        self._events = tuple(events)

    def _compile_flat(self) -> None:
        """Everything the numba kernel reads, as flat contiguous arrays."""
        i64 = np.int64
        card = np.array([len(p) for p in self._prior], dtype=i64)
        prior_off = np.concatenate([[0], np.cumsum(card)]).astype(i64)
        kinds = {"open": 0, "block": 1, "close": 2}
        ev_kind = np.array([kinds[kind] for kind, _ in self._events], dtype=i64)
        ev_arg = np.array([j for _, j in self._events], dtype=i64)
        tables, sh_node, sh_stride, lo_node, causes = [], [], [], [], []
        tab_off, cause_off, sh_off, lo_off, cond_off = [0], [0], [0], [0], [0]
        for block in self._blocks:
            table = np.ascontiguousarray(block.table, dtype=np.float64)
            tables.append(table.ravel())
            tab_off.append(tab_off[-1] + table.size)
            sh_node += block.shared
            sh_stride += [table.strides[a] // 8 for a in range(len(block.shared))]
            sh_off.append(len(sh_node))
            lo_node += block.local
            lo_off.append(len(lo_node))
            cond_off.append(cond_off[-1] + len(block.conds))
            causes.append(np.ascontiguousarray(block.cause, dtype=np.float64).ravel())
            cause_off.append(cause_off[-1] + block.cause.size)
        self._flat = (
            card, prior_off, np.concatenate(self._prior).astype(np.float64), ev_kind, ev_arg,
            np.array([len(b.bits) for b in self._blocks], dtype=i64),
            np.array(cond_off, dtype=i64),
            np.array([c for b in self._blocks for c in b.conds], dtype=i64),
            np.array(tab_off[:-1], dtype=i64), np.concatenate(tables),
            np.array(sh_off, dtype=i64), np.array(sh_node, dtype=i64),
            np.array(sh_stride, dtype=i64), np.array(lo_off, dtype=i64),
            np.array(lo_node, dtype=i64), np.array(cause_off[:-1], dtype=i64),
            np.concatenate(causes), np.ascontiguousarray(self._log_miss.T),
            np.ascontiguousarray(self._log_leak_miss, dtype=np.float64),
            np.ascontiguousarray(self._leak, dtype=np.float64),
        )  # fmt: skip
        # the first and last block events whose block can cause each finding (-1: none)
        can = np.full((len(self._events), len(self.findings)), False)
        for e, (kind, b) in enumerate(self._events):
            if kind == "block":
                can[e] = (self._blocks[b].cause > 0).any(axis=0)
        seen = can.any(axis=0)
        first = np.where(seen, can.argmax(axis=0), -1)
        last = np.where(seen, len(can) - 1 - can[::-1].argmax(axis=0), -1)
        self._flat += (first.astype(i64), last.astype(i64))

    def _compile_findings(self, cpds: dict[str, Any], order: dict[str, tuple[str, ...]]) -> None:
        ci = {c: i for i, c in enumerate(self.conditions)}
        self._link = np.zeros((len(self.conditions), len(self.findings)))
        self._leak = np.zeros(len(self.findings))
        for j, f in enumerate(self.findings):
            pa = list(cpds[f].variables[1:])
            for p in pa:
                if p not in ci:
                    raise ValueError(f"finding {f!r} has parent {p!r}, which is not a condition")
            absent = _canonical(cpds[f], order)[0]  # axes: parents, states no/yes
            leak = 1.0 - absent[(0,) * len(pa)]
            links = []
            for a in range(len(pa)):
                one = [0] * len(pa)
                one[a] = 1
                links.append(1.0 - absent[tuple(one)] / (1.0 - leak) if leak < 1 else 0.0)
            want = np.full((2,) * len(pa), 1.0 - leak)
            for a in range(len(pa)):  # (1 - leak) · Π over present parents of (1 - link)
                want = want * np.array([1.0, 1.0 - links[a]]).reshape(
                    [2 if b == a else 1 for b in range(len(pa))])
            if np.abs(absent - want).max(initial=0.0) > 1e-12:
                raise ValueError(f"finding {f!r}: its table is not a leaky noisy-OR")
            self._leak[j] = leak
            for a, p in enumerate(pa):
                self._link[ci[p], j] = links[a]
        for b, block in enumerate(self._blocks):
            miss = np.ones((len(block.bits), len(self.findings)))
            for st, state in enumerate(block.bits):
                for a in np.flatnonzero(state):
                    miss[st] *= 1.0 - self._link[block.conds[a]]
            self._blocks[b] = _Block(block.conds, block.bits, block.shared, block.local,
                                     block.table, 1.0 - miss)  # fmt: skip
        with np.errstate(divide="ignore"):
            self._log_miss = np.where(self._link < 1, np.log1p(-np.minimum(self._link, 1)), _LOG0)
            self._log_leak_miss = np.where(self._leak < 1, np.log1p(-self._leak), _LOG0)

    # inference ----------------------------------------------------------------------
    def posteriors(self, context: np.ndarray, findings: np.ndarray) -> np.ndarray:
        """P(condition = yes | evidence) for every case.

        Parameters
        ----------
        context : int array (n_cases, n_context)
            State index per context node (``context_states``), -1 for unknown.
        findings : int array (n_cases, n_findings)
            1 present, 0 absent, -1 not asked.

        Returns
        -------
        float64 array (n_cases, n_conditions); NaN for evidence of probability zero.
        """
        return self._run(context, findings)[1]

    def log_evidence(self, context: np.ndarray, findings: np.ndarray) -> np.ndarray:
        """Natural log of P(evidence) per case (-inf when impossible)."""
        return self._run(context, findings)[0]

    def _run(self, context: np.ndarray, findings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        context = np.asarray(context, dtype=np.int64)
        findings = np.asarray(findings, dtype=np.int8)
        n = len(context)
        if context.shape != (n, len(self.context)) or findings.shape != (n, len(self.findings)):
            raise ValueError(
                f"expected context ({n}, {len(self.context)}) and findings "
                f"({n}, {len(self.findings)}); got {context.shape} and {findings.shape}"
            )
        log_z = np.empty(n)
        post = np.empty((n, len(self.conditions)))
        k_all = (findings == 1).sum(axis=1)
        if self.engine == "numba":
            slow = np.flatnonzero(k_all > self.max_positive)
            if len(slow):
                log_z[slow], post[slow] = self._exact_slow(context[slow], findings[slow])
            fast = np.flatnonzero(k_all <= self.max_positive)
            if len(fast) == n:
                log_z, post = self._run_kernel(context, findings)
            elif len(fast):
                log_z[fast], post[fast] = self._run_kernel(context[fast], findings[fast])
            return log_z, post
        for k in np.unique(k_all):
            idx = np.flatnonzero(k_all == k)
            if k > self.max_positive:
                log_z[idx], post[idx] = self._exact_slow(context[idx], findings[idx])
                continue
            ends = np.cumsum(self._rows_per_case(context[idx]))
            per_chunk = max(1, _CELLS >> int(k))
            start = 0
            while start < len(idx):  # chunks of whole cases, about per_chunk rows each
                done = ends[start - 1] if start else 0
                stop = int(np.searchsorted(ends, done + per_chunk, side="right"))
                stop = min(max(stop, start + 1), len(idx))
                part = idx[start:stop]
                log_z[part], post[part] = self._group(context[part], findings[part], int(k))
                start = stop
        return log_z, post

    def _run_kernel(self, context: np.ndarray, findings: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """The numba path: every case at most ``max_positive`` present findings."""
        need_of, batch = _kernels()
        flat = self._flat
        card, ev_kind, ev_arg, b_ns = flat[0], flat[3], flat[4], flat[5]
        n = len(context)
        z = np.empty(n)
        joint = np.empty((n, len(self.conditions)))
        for start in range(0, n, _CASES):
            stop = min(n, start + _CASES)
            ctx = np.ascontiguousarray(context[start:stop], dtype=np.int64)
            fnd = np.ascontiguousarray(findings[start:stop], dtype=np.int8)
            big = need_of(ctx, fnd, card, ev_kind, ev_arg, b_ns, *flat[-2:]) > _WORKSPACE
            if not big.any():
                batch(ctx, fnd, *flat, z[start:stop], joint[start:stop])
                continue
            small = np.flatnonzero(~big)
            z_small, j_small = np.empty(len(small)), np.empty((len(small), joint.shape[1]))
            batch(ctx[small], fnd[small], *flat, z_small, j_small)
            z[start + small], joint[start + small] = z_small, j_small
            for i in np.flatnonzero(big):  # too wide: sum over sub-cases (see _split)
                parts = self._split(ctx[i], fnd[i])
                zp, jp = np.empty(len(parts)), np.empty((len(parts), joint.shape[1]))
                batch(parts, np.repeat(fnd[i : i + 1], len(parts), axis=0), *flat, zp, jp)
                z[start + i], joint[start + i] = zp.sum(), jp.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(z), joint / z[:, None]

    def _split(self, ctx: np.ndarray, fnd: np.ndarray) -> np.ndarray:
        """Sub-cases of one case whose workspace is too large for the kernel.

        P(evidence) = Σ_v P(evidence, x = v), and likewise P(c = yes, evidence), for
        an unknown shared node x: the case is replaced by one sub-case per state of x
        (then x is known, so the kernel's rows do not split on it) and the sub-case
        results are added. Nodes are fixed in the order they are opened until the
        workspace fits; every term is non-negative, so nothing cancels.
        """
        need_of, _ = _kernels()
        card, ev_kind, ev_arg, b_ns = self._flat[0], self._flat[3], self._flat[4], self._flat[5]
        row = ctx.copy()
        fixed = []
        for kind, j in self._events:
            need = need_of(row[None], fnd[None], card, ev_kind, ev_arg, b_ns, *self._flat[-2:])
            if need[0] <= _WORKSPACE:
                break
            if kind == "open" and row[j] < 0:
                fixed.append(j)
                row[j] = 0
        grid = np.array(list(itertools.product(*(range(card[j]) for j in fixed))), dtype=np.int64)
        parts = np.repeat(row[None], len(grid), axis=0)
        parts[:, fixed] = grid.reshape(len(grid), len(fixed))
        return parts

    def _rows_per_case(self, context: np.ndarray) -> np.ndarray:
        """The most rows a case needs at once under the schedule (for chunking)."""
        width = np.ones(len(context), dtype=np.int64)
        peak = width.copy()
        for kind, j in self._events:
            if kind == "block":
                continue
            size = np.where(context[:, j] < 0, len(self._prior[j]), 1)
            width = width * size if kind == "open" else width // size
            np.maximum(peak, width, out=peak)
        return peak

    def _evidence_vectors(self, context: np.ndarray, j: int) -> np.ndarray:
        """(n, states): prior of node j times the indicator of what each case says."""
        prior = self._prior[j]
        known = context[:, j]
        out = np.broadcast_to(prior, (len(context), len(prior))).copy()
        given = known >= 0
        mask = np.zeros_like(out, dtype=bool)
        mask[np.flatnonzero(given), known[given]] = True
        out[given] *= mask[given]
        return out

    def _group(self, context: np.ndarray, findings: np.ndarray, k: int
               ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Exact log P(evidence) and P(c = yes | evidence) for cases with k present findings.

        Messages are (2^k, rows): the first axis is the set of present findings caused
        so far, rows are cases split by the states of their open unknown context nodes.
        """
        n = len(context)
        absent = (findings == 0).astype(np.float64)
        log_w_cond = absent @ self._log_miss.T  # (n, n_conditions): absent findings
        log_leak = absent @ self._log_leak_miss  # (n,)
        positive = np.sort(np.argsort(findings != 1, axis=1, kind="stable")[:, :k], axis=1)
        local = {j: self._evidence_vectors(context, j) for b in self._blocks for j in b.local}
        case = np.arange(n)
        state = {j: context[:, j].copy() for j in self._shared}
        leak = self._leak[positive]
        alpha = np.ones((1, n))
        for j in range(k):
            alpha = np.concatenate([alpha * (1 - leak[:, j]), alpha * leak[:, j]], axis=0)

        # forward: open a node (split rows), run a block, close a node (sum rows back)
        trail = []
        for kind, j in self._events:
            if kind == "open":
                size = len(self._prior[j])
                unknown = context[case, j] < 0
                counts = np.where(unknown, size, 1)
                parent = np.repeat(np.arange(len(case)), counts)
                child = np.arange(len(parent)) - np.repeat(np.cumsum(counts) - counts, counts)
                case = case[parent]
                state = {v: s[parent] for v, s in state.items()}
                state[j] = np.where(unknown[parent], child, state[j])
                factor = self._prior[j][state[j]]
                alpha = alpha[:, parent] * factor
                trail.append((kind, j, counts, factor))
            elif kind == "close":
                counts = trail_counts = next(t[2] for t in reversed(trail)
                                             if t[0] == "open" and t[1] == j)  # fmt: skip
                starts = np.cumsum(counts) - counts
                alpha = np.add.reduceat(alpha, starts, axis=1) if len(starts) else alpha
                case = case[starts]
                state = {v: s[starts] for v, s in state.items()}
                state[j] = context[case, j].copy()
                trail.append((kind, j, trail_counts, None))
            else:
                block = self._blocks[j]
                prior = block.table[tuple(state[v] for v in block.shared)] if block.shared \
                    else np.broadcast_to(block.table, (len(case), *block.table.shape))
                for v in block.local:
                    prior = np.einsum("ra...,ra->r...", prior, local[v][case])
                weight = (prior * np.exp(block.bits @ log_w_cond[:, block.conds].T).T[case]).T
                moved = [_fire(alpha, block.cause[s][positive][case], k)
                         for s in range(1, len(block.bits))]  # fmt: skip
                trail.append((kind, j, (moved, weight, case), None))
                alpha = weight[0] * alpha
                for s, out in enumerate(moved, start=1):
                    alpha += weight[s] * out
        z = alpha[-1] * np.exp(log_leak)

        # backward: beta = what the rest of the schedule does with each fired set
        beta = np.zeros_like(alpha)
        beta[-1] = np.exp(log_leak)
        joint = np.zeros((n, len(self.conditions)))
        for kind, j, data, factor in reversed(trail):
            if kind == "close":  # undo a sum: every child row sees its parent's future
                beta = np.repeat(beta, data, axis=1)
            elif kind == "open":  # undo a split: a parent sums its children's futures
                starts = np.cumsum(data) - data
                beta = np.add.reduceat(beta * factor, starts, axis=1) if len(starts) else beta
            else:
                block = self._blocks[j]
                moved, weight, rows = data
                for s, out in enumerate(moved, start=1):
                    p_state = np.bincount(rows, weight[s] * np.einsum("sr,sr->r", out, beta),
                                          minlength=n)  # fmt: skip
                    for a in np.flatnonzero(block.bits[s]):
                        joint[:, block.conds[a]] += p_state
                back = weight[0] * beta
                for s in range(1, len(block.bits)):
                    back += weight[s] * _fire_back(beta, block.cause[s][positive][rows], k)
                beta = back
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(z), joint / z[:, None]

    def _exact_slow(self, context: np.ndarray, findings: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Many present findings: pgmpy's VariableElimination, case by case (exact)."""
        from pgmpy.inference import VariableElimination

        ve = VariableElimination(self._net)
        log_z = np.zeros(len(context))
        post = np.empty((len(context), len(self.conditions)))
        for r in range(len(context)):
            ev = {x: self.context_states[x][s] for x, s in zip(self.context, context[r]) if s >= 0}
            ev |= {f: _YES_NO[v] for f, v in zip(self.findings, findings[r]) if v >= 0}
            seen: dict[str, str] = {}
            for node, state in ev.items():  # chain rule for P(evidence)
                fac = ve.query([node], evidence=seen or None, show_progress=False)
                log_z[r] += np.log(fac.values[list(fac.state_names[node]).index(state)])
                seen[node] = state
            res = ve.query(list(self.conditions), evidence=ev, joint=False, show_progress=False)
            for i, c in enumerate(self.conditions):
                post[r, i] = res[c].values[list(res[c].state_names[c]).index("yes")]
        return log_z, post


@functools.lru_cache(maxsize=32)
def _schedule(needs: tuple[tuple[int, ...], ...], card: tuple[int, ...]
              ) -> tuple[tuple[str, int], ...]:  # fmt: skip
    """Events (open node, run block, close node) for blocks needing shared nodes ``needs``.

    Each node is opened once, before its first block, and closed when it is on top
    of the stack and no later block needs it. The block order minimises the summed
    width (product of open nodes' state counts) by a deterministic local search.
    """
    usage = {j: sum(j in n for n in needs) for n in needs for j in n}

    def run(order: list[int]) -> tuple[float, list[tuple[str, int]]]:
        stack: list[int] = []
        events: list[tuple[str, int]] = []
        cost = 0.0
        for pos, b in enumerate(order):
            for j in sorted(set(needs[b]) - set(stack), key=lambda v: (-usage[v], v)):
                stack.append(j)
                events.append(("open", j))
            cost += float(np.prod([card[j] for j in stack]))
            events.append(("block", b))
            later = {j for c in order[pos + 1 :] for j in needs[c]}
            while stack and stack[-1] not in later:
                events.append(("close", stack.pop()))
        return cost, events

    order = sorted(range(len(needs)), key=lambda b: sorted((-usage[j], j) for j in needs[b]))
    best, _ = run(order)
    rng = np.random.default_rng(0)
    for _ in range(1500):
        i, j = rng.integers(len(order), size=2)
        trial = order.copy()
        trial.insert(j, trial.pop(i))
        cost, _ = run(trial)
        if cost <= best:
            order, best = trial, cost
    return tuple(run(order)[1])


def _fire(alpha: np.ndarray, cause: np.ndarray, k: int) -> np.ndarray:
    """Forward: each present finding j not yet caused becomes caused with prob cause[:, j].

    ``alpha`` is (2^k, rows) with bit j of the first index = "finding j caused".
    """
    out = alpha.copy()
    for j in range(k):
        r = cause[:, j]
        if not r.any():  # this block cannot cause finding j in any row of the chunk
            continue
        view = out.reshape(-1, 2, 1 << j, out.shape[1])
        view[:, 1] += view[:, 0] * r
        view[:, 0] *= 1.0 - r
    return out


def _fire_back(beta: np.ndarray, cause: np.ndarray, k: int) -> np.ndarray:
    """Backward (the transpose of :func:`_fire`) applied to a message over fired sets."""
    out = beta.copy()
    for j in range(k):
        r = cause[:, j]
        if not r.any():
            continue
        view = out.reshape(-1, 2, 1 << j, out.shape[1])
        view[:, 0] *= 1.0 - r
        view[:, 0] += view[:, 1] * r
    return out


# numba kernel ----------------------------------------------------------------------
# Plain functions at module level, compiled on first use by _kernels() (so importing
# the package does not import numba) and cached on disk (cache=True). They implement
# _group() case by case; see the module docstring.

prange = range  # rebound to numba.prange by _kernels() before compiling _k_batch


def _k_sizes(ctx, fnd, card, ev_kind, ev_arg, b_ns, f_first, f_last):  # pragma: no cover
    """Workspace of one case: (stored forward doubles, peak message doubles, weights)."""
    rows = 1
    bits = 0
    peak = 1
    store = 0
    wsize = 0
    for e in range(ev_kind.shape[0]):
        j = ev_arg[e]
        if ev_kind[e] == 0:
            if ctx[j] < 0:
                rows *= card[j]
        elif ev_kind[e] == 2:
            if ctx[j] < 0:
                rows //= card[j]
        else:
            for f in range(fnd.shape[0]):
                if fnd[f] == 1 and f_first[f] == e:
                    bits += 1
            store += rows << bits
            wsize += rows * b_ns[j]
            peak = max(peak, rows << bits)
            for f in range(fnd.shape[0]):
                if fnd[f] == 1 and f_last[f] == e:
                    bits -= 1
        peak = max(peak, rows << bits)
    return store, peak, wsize


def _k_need(ctx, fnd, card, ev_kind, ev_arg, b_ns, f_first, f_last):  # pragma: no cover
    """Doubles of workspace each case needs (ctx: (n, n_context), fnd: (n, n_findings))."""
    out = np.empty(ctx.shape[0], dtype=np.int64)
    for c in range(ctx.shape[0]):
        store, peak, wsize = _k_sizes(ctx[c], fnd[c], card, ev_kind, ev_arg, b_ns,
                                      f_first, f_last)  # fmt: skip
        out[c] = store + 3 * peak + wsize
    return out


def _k_case(ctx, fnd, card, prior_off, prior, ev_kind, ev_arg, b_ns, b_cond_off, b_conds,
            b_tab_off, tab, b_sh_off, sh_node, sh_stride, b_lo_off, lo_node, cause_off, cause,
            log_miss_t, log_leak_miss, leak, f_first, f_last, joint):  # pragma: no cover
    """One case: writes P(c = yes, evidence) into ``joint``, returns P(evidence).

    The computation of CompiledNetwork._group for a single case, with live bits: a
    row holds a message over the fired sets of the *live* present findings only (see
    the module docstring), bit p for ``live[p]``. Rows are the combinations of the
    open unknown shared context nodes, the last opened varying fastest.
    """
    nf = fnd.shape[0]
    nc = joint.shape[0]
    nctx = ctx.shape[0]
    nev = ev_kind.shape[0]
    k = 0
    for f in range(nf):
        if fnd[f] == 1:
            k += 1
    pos = np.empty(k, dtype=np.int64)
    lwc = np.zeros(nc)  # log weight of the absent findings given each condition present
    lconst = 0.0  # absent findings' leaks, and present findings no condition can cause
    q = 0
    for f in range(nf):
        if fnd[f] == 1:
            pos[q] = f
            q += 1
            if f_first[f] < 0:
                lconst += np.log(leak[f]) if leak[f] > 0.0 else _LOG0
        elif fnd[f] == 0:
            lconst += log_leak_miss[f]
            for c in range(nc):
                lwc[c] += log_miss_t[f, c]
    store_size, peak, wsize = _k_sizes(ctx, fnd, card, ev_kind, ev_arg, b_ns, f_first, f_last)
    ns_max = 1
    l_max = 1
    for b in range(b_ns.shape[0]):
        ns_max = max(ns_max, b_ns[b])
        size = 1
        for t in range(b_lo_off[b], b_lo_off[b + 1]):
            size *= card[lo_node[t]]
        l_max = max(l_max, size)
    store = np.empty(store_size)  # forward message entering each block, per row
    wst = np.empty(wsize)  # P(block state | row's context) · absent-finding weight
    cur = np.empty(peak)
    nxt = np.empty(peak)
    tmp = np.empty(peak)
    wa = np.empty(ns_max)
    lw = np.empty(l_max)
    kb = max(k, 1)
    cb = np.empty(ns_max * kb)
    active = np.empty(ns_max, dtype=np.bool_)
    rows_at = np.empty(nev, dtype=np.int64)
    bits_at = np.zeros(nev, dtype=np.int64)  # live bits while a block runs
    live_at = np.empty(nev * kb, dtype=np.int64)  # which positives they are
    added = np.zeros(nev, dtype=np.int64)  # live bits appended before each block
    removed = np.zeros(nev, dtype=np.int64)  # and removed after it, at these positions:
    rem_pos = np.empty(nev * kb, dtype=np.int64)
    s_off = np.zeros(nev, dtype=np.int64)
    w_off = np.zeros(nev, dtype=np.int64)
    live = np.empty(kb, dtype=np.int64)
    stack = np.empty(nctx, dtype=np.int64)  # open unknown nodes, last opened varies fastest
    level = np.empty(nctx, dtype=np.int64)  # a node's position in the stack
    digit = np.empty(nctx, dtype=np.int64)  # the current row's state of each stack node
    lstride = np.empty(nctx, dtype=np.int64)  # table stride of each stack node (0: unused)
    for i in range(nc):
        joint[i] = 0.0

    # forward ------------------------------------------------------------------------
    cur[0] = 1.0
    rows = 1
    nb = 0  # live bits
    sp = 0
    so = 0
    wo = 0
    for e in range(nev):
        kind = ev_kind[e]
        j = ev_arg[e]
        rows_at[e] = rows
        width = 1 << nb
        if kind == 0:  # open: split rows by the node's states, times its prior
            p0 = prior_off[j]
            if ctx[j] < 0:
                d = card[j]
                for r in range(rows):
                    for v in range(d):
                        pv = prior[p0 + v]
                        src = r * width
                        dst = (r * d + v) * width
                        for i in range(width):
                            nxt[dst + i] = cur[src + i] * pv
                level[j] = sp
                stack[sp] = j
                sp += 1
                rows *= d
                cur, nxt = nxt, cur
            else:
                pv = prior[p0 + ctx[j]]
                for i in range(rows * width):
                    cur[i] *= pv
            continue
        if kind == 2:  # close: sum each parent row's children back
            if ctx[j] < 0:
                d = card[j]
                sp -= 1
                rows //= d
                for r in range(rows):
                    dst = r * width
                    for i in range(width):
                        nxt[dst + i] = 0.0
                    for v in range(d):
                        src = (r * d + v) * width
                        for i in range(width):
                            nxt[dst + i] += cur[src + i]
                cur, nxt = nxt, cur
            continue
        # block: first the present findings it is the first to possibly cause go live,
        # starting from their leak
        for qq in range(k):
            if f_first[pos[qq]] == e:
                lk = leak[pos[qq]]
                for r in range(rows):
                    src = r * width
                    dst = 2 * r * width
                    for i in range(width):
                        nxt[dst + i] = cur[src + i] * (1.0 - lk)
                        nxt[dst + width + i] = cur[src + i] * lk
                cur, nxt = nxt, cur
                live[nb] = qq
                nb += 1
                width *= 2
                added[e] += 1
        bits_at[e] = nb
        for p in range(nb):
            live_at[e * kb + p] = live[p]
        b = j
        ns = b_ns[b]
        c0 = b_cond_off[b]
        m = b_cond_off[b + 1] - c0
        s_off[e] = so
        w_off[e] = wo
        for s in range(ns):
            acc = 0.0
            for a in range(m):
                if (s >> (m - 1 - a)) & 1:
                    acc += lwc[b_conds[c0 + a]]
            wa[s] = np.exp(acc)
            active[s] = False
            for p in range(nb):
                r_ = cause[cause_off[b] + s * nf + pos[live[p]]]
                cb[s * kb + p] = r_
                if r_ > 0.0:
                    active[s] = True
        l0 = b_lo_off[b]
        nlo = b_lo_off[b + 1] - l0
        nl = 1
        for t in range(nlo):
            nl *= card[lo_node[l0 + t]]
        for li in range(nl):  # local context: prior times the case's indicator
            rem = li
            w = 1.0
            for t in range(nlo - 1, -1, -1):
                node = lo_node[l0 + t]
                v = rem % card[node]
                rem //= card[node]
                pv = prior[prior_off[node] + v]
                if ctx[node] >= 0 and ctx[node] != v:
                    pv = 0.0
                w *= pv
            lw[li] = w
        off = b_tab_off[b]  # table offset of row 0; rows count in mixed radix
        for t in range(sp):
            lstride[t] = 0
            digit[t] = 0
        for t in range(b_sh_off[b], b_sh_off[b + 1]):
            node = sh_node[t]
            if ctx[node] >= 0:
                off += ctx[node] * sh_stride[t]
            else:
                lstride[level[node]] = sh_stride[t]
        for r in range(rows):
            for s in range(ns):
                acc = 0.0
                for li in range(nl):
                    acc += lw[li] * tab[off + li * ns + s]
                wst[wo + r * ns + s] = acc * wa[s]
            t = sp - 1  # next row: the last opened node varies fastest
            while t >= 0:
                digit[t] += 1
                off += lstride[t]
                if digit[t] < card[stack[t]]:
                    break
                off -= digit[t] * lstride[t]
                digit[t] = 0
                t -= 1
        for i in range(rows * width):
            store[so + i] = cur[i]
        for r in range(rows):
            src = r * width
            w0 = 0.0
            for s in range(ns):
                if not active[s]:
                    w0 += wst[wo + r * ns + s]
            for i in range(width):
                nxt[src + i] = w0 * cur[src + i]
            for s in range(ns):
                w = wst[wo + r * ns + s]
                if not active[s] or w == 0.0:
                    continue
                for i in range(width):
                    tmp[i] = cur[src + i]
                for p in range(nb):  # fire: a not-yet-caused live finding becomes caused
                    r_ = cb[s * kb + p]
                    if r_ > 0.0:
                        h = 1 << p
                        q_ = 1.0 - r_
                        for base in range(0, width, 2 * h):
                            for i in range(base, base + h):
                                t0 = tmp[i]
                                tmp[i + h] += t0 * r_
                                tmp[i] = t0 * q_
                for i in range(width):
                    nxt[src + i] += w * tmp[i]
        so += rows * width
        wo += rows * ns
        cur, nxt = nxt, cur
        # findings no later block can cause: only "caused" (bit = 1) can still end well
        for p in range(nb - 1, -1, -1):
            if f_last[pos[live[p]]] == e:
                h = 1 << p
                half = width // 2
                for r in range(rows):
                    src = r * width
                    dst = r * half
                    for hi in range(0, half, h):
                        for i in range(h):
                            nxt[dst + hi + i] = cur[src + 2 * hi + h + i]
                cur, nxt = nxt, cur
                for t in range(p, nb - 1):
                    live[t] = live[t + 1]
                nb -= 1
                width = half
                rem_pos[e * kb + removed[e]] = p
                removed[e] += 1
    z = cur[0] * np.exp(lconst)

    # backward: what the rest of the schedule does with each fired set --------------
    cur[0] = np.exp(lconst)
    for e in range(nev - 1, -1, -1):
        kind = ev_kind[e]
        j = ev_arg[e]
        rows = rows_at[e]
        width = 1 << nb
        if kind == 2:  # undo a close: every child row sees its parent's future
            if ctx[j] < 0:
                d = card[j]
                for r in range(rows // d):
                    for v in range(d):
                        src = r * width
                        dst = (r * d + v) * width
                        for i in range(width):
                            nxt[dst + i] = cur[src + i]
                cur, nxt = nxt, cur
            continue
        if kind == 0:  # undo an open: a parent sums its children's futures
            p0 = prior_off[j]
            if ctx[j] < 0:
                d = card[j]
                for r in range(rows):
                    dst = r * width
                    for i in range(width):
                        nxt[dst + i] = 0.0
                    for v in range(d):
                        pv = prior[p0 + v]
                        src = (r * d + v) * width
                        for i in range(width):
                            nxt[dst + i] += cur[src + i] * pv
                cur, nxt = nxt, cur
            else:
                pv = prior[p0 + ctx[j]]
                for i in range(rows * width):
                    cur[i] *= pv
            continue
        for t in range(removed[e] - 1, -1, -1):  # undo removals: bit p back, 0 for "not"
            p = rem_pos[e * kb + t]
            h = 1 << p
            half = width
            width *= 2
            for r in range(rows):
                src = r * half
                dst = r * width
                for hi in range(0, half, h):
                    for i in range(h):
                        nxt[dst + 2 * hi + i] = 0.0
                        nxt[dst + 2 * hi + h + i] = cur[src + hi + i]
            cur, nxt = nxt, cur
        nb = bits_at[e]
        b = j
        ns = b_ns[b]
        c0 = b_cond_off[b]
        m = b_cond_off[b + 1] - c0
        so = s_off[e]
        wo = w_off[e]
        for s in range(ns):
            active[s] = False
            for p in range(nb):
                r_ = cause[cause_off[b] + s * nf + pos[live_at[e * kb + p]]]
                cb[s * kb + p] = r_
                if r_ > 0.0:
                    active[s] = True
        for r in range(rows):
            src = r * width
            w0 = 0.0
            for s in range(ns):
                if not active[s]:
                    w0 += wst[wo + r * ns + s]
            dot = 0.0
            for i in range(width):
                dot += store[so + src + i] * cur[src + i]
                nxt[src + i] = w0 * cur[src + i]
            for s in range(1, ns):
                w = wst[wo + r * ns + s]
                if w == 0.0:
                    continue
                if active[s]:
                    for i in range(width):
                        tmp[i] = cur[src + i]
                    for p in range(nb):  # transpose of fire
                        r_ = cb[s * kb + p]
                        if r_ > 0.0:
                            h = 1 << p
                            q_ = 1.0 - r_
                            for base in range(0, width, 2 * h):
                                for i in range(base, base + h):
                                    tmp[i] = tmp[i] * q_ + tmp[i + h] * r_
                    p_state = 0.0
                    for i in range(width):
                        p_state += store[so + src + i] * tmp[i]
                        nxt[src + i] += w * tmp[i]
                    p_state *= w
                else:
                    p_state = w * dot
                for a in range(m):
                    if (s >> (m - 1 - a)) & 1:
                        joint[b_conds[c0 + a]] += p_state
        cur, nxt = nxt, cur
        for _ in range(added[e]):  # undo going live: sum the bit out against its leak
            nb -= 1
            lk = leak[pos[live_at[e * kb + nb]]]
            half = width // 2
            for r in range(rows):
                src = r * width
                dst = r * half
                for i in range(half):
                    nxt[dst + i] = cur[src + i] * (1.0 - lk) + cur[src + half + i] * lk
            cur, nxt = nxt, cur
            width = half
    return z


def _k_batch(ctx, fnd, card, prior_off, prior, ev_kind, ev_arg, b_ns, b_cond_off, b_conds,
             b_tab_off, tab, b_sh_off, sh_node, sh_stride, b_lo_off, lo_node, cause_off, cause,
             log_miss_t, log_leak_miss, leak, f_first, f_last, z, joint):  # pragma: no cover
    """_k_case over every case, in parallel; each case is computed by one thread alone."""
    for c in prange(ctx.shape[0]):
        z[c] = _k_case(ctx[c], fnd[c], card, prior_off, prior, ev_kind, ev_arg, b_ns,
                       b_cond_off, b_conds, b_tab_off, tab, b_sh_off, sh_node, sh_stride,
                       b_lo_off, lo_node, cause_off, cause, log_miss_t, log_leak_miss, leak,
                       f_first, f_last, joint[c])


def _k_serial(ctx, fnd, card, prior_off, prior, ev_kind, ev_arg, b_ns, b_cond_off, b_conds,
              b_tab_off, tab, b_sh_off, sh_node, sh_stride, b_lo_off, lo_node, cause_off, cause,
              log_miss_t, log_leak_miss, leak, f_first, f_last, z, joint):  # pragma: no cover
    """_k_case over every case on the calling thread (small batches: no thread wake-up)."""
    for c in range(ctx.shape[0]):
        z[c] = _k_case(ctx[c], fnd[c], card, prior_off, prior, ev_kind, ev_arg, b_ns,
                       b_cond_off, b_conds, b_tab_off, tab, b_sh_off, sh_node, sh_stride,
                       b_lo_off, lo_node, cause_off, cause, log_miss_t, log_leak_miss, leak,
                       f_first, f_last, joint[c])


@functools.cache
def _kernels() -> Any:
    """Compile the kernels (numba, cached on disk): (need per case, run a batch)."""
    try:
        import numba
    except ImportError:
        return None
    g = globals()
    g["prange"] = numba.prange
    for name in ("_k_sizes", "_k_case"):
        g[name] = numba.njit(cache=True, nogil=True)(g[name])
    g["_k_need"] = numba.njit(cache=True)(g["_k_need"])
    g["_k_serial"] = numba.njit(cache=True)(g["_k_serial"])
    g["_k_batch"] = numba.njit(cache=True, parallel=True)(g["_k_batch"])
    serial, parallel = g["_k_serial"], g["_k_batch"]

    def batch(ctx: np.ndarray, *arrays: np.ndarray) -> None:
        """Threads only pay off on batches: waking them can cost milliseconds."""
        (parallel if len(ctx) >= _PARALLEL_FROM else serial)(ctx, *arrays)

    return g["_k_need"], batch


def _numba_missing() -> bool:
    """True if numba cannot be imported (the numpy path is then used)."""
    import importlib.util

    return importlib.util.find_spec("numba") is None
