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
   ratio is the posterior. Cases are grouped by k so every array is dense; cost is
   about rows · blocks · k · 2^k. Cases with more than ``max_positive`` present
   findings are answered by pgmpy's VariableElimination, also exact.

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
    """

    context: tuple[str, ...]
    conditions: tuple[str, ...]
    findings: tuple[str, ...]
    context_states: dict[str, tuple[str, ...]]
    max_positive: int

    @classmethod
    def from_network(
        cls,
        net: Any,
        context: Sequence[str],
        conditions: Sequence[str],
        findings: Sequence[str],
        *,
        max_positive: int = 14,
    ) -> CompiledNetwork:
        """Compile ``net``, a pgmpy ``DiscreteBayesianNetwork`` of heelnet's shape.

        Raises
        ------
        ValueError
            If a node is missing or misplaced, has unexpected states, or a finding's
            table is not a leaky noisy-OR (the message names the node).
        """
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
