"""Exact posteriors of every condition, for many cases at once.

heelnet's network has context roots (and context nodes that depend on a few of
them, such as sport on age and sex), conditions that depend on context and, for a
few, on one other condition, and findings that are leaky noisy-ORs of the
conditions. :class:`Engine` computes P(condition = yes | evidence) and
P(evidence) for every case exactly, in one batched call, by a forward-backward
pass that adds only non-negative terms:

1. **Blocks**: conditions joined by a condition -> condition edge are enumerated
   jointly; given the context, blocks are independent.
2. **Absent findings factorise** into a weight on each block state; findings not
   asked sum out and vanish.
3. **Present findings** are handled by a Markov chain over *which present findings
   are already caused*, run block by block: a forward pass, and a backward pass
   from which each block state's probability jointly with the evidence is read.
4. **Unknown context** is summed out exactly: context nodes that several blocks
   read are opened (rows split by their states) and closed around those blocks;
   strata nodes (those other context nodes depend on) are summed outside the
   kernel, one sub-case per state.

``DESIGN.md`` in this folder has the glossary, a worked example small enough to
check by hand, the derivation and the invariants the tests check. Unlike
Quickscore (Heckerman 1989), whose alternating sums lose most digits when
findings are rare, nothing cancels, so results agree with pgmpy's
VariableElimination to ~1e-15. Cases with more than ``max_positive`` present
findings go to pgmpy's VariableElimination (:mod:`.fallback`), also exact.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..network import NetworkTables
from .tables import KernelTables, Structure, fill, stratum_grid, stratum_priors

__all__ = ["Engine"]

#: Doubles of kernel workspace a case may use (32 MB); wider cases are split.
WORKSPACE = 1 << 22
#: Cases given to the kernel at a time, so temporary copies stay small.
CHUNK = 1 << 16


class Engine:
    """A :class:`~model.network.NetworkTables` compiled for exact batch inference.

    Parameters
    ----------
    network : NetworkTables
        The tables to compile.
    max_positive : int, default 14
        Cases with more present findings are answered by pgmpy's VariableElimination.

    Attributes
    ----------
    network : NetworkTables
    structure : Structure
        The blocks, strata and schedule (shared by every network of the same shape).
    tables : KernelTables
        The numbers the kernel reads.

    Examples
    --------
    >>> from model import Model
    >>> engine = Model.default().engine
    >>> case = {"palpable_gap": True, "pop_or_snap": True}
    >>> context, findings = Model.default().encoding.encode([case])
    >>> p = engine.posteriors(context, findings)[0]
    >>> engine.network.conditions[int(p.argmax())]
    'achilles_rupture'
    """

    def __init__(self, network: NetworkTables, *, max_positive: int = 14) -> None:
        self.network = network
        self.max_positive = int(max_positive)
        self.structure = Structure.of(network)
        self.tables: KernelTables = fill(self.structure, network)
        self._grid = stratum_grid(self.structure)
        self._stratum_weight = stratum_priors(self.structure, network)[1]
        self._fallback: Any = None

    def refill(self, network: NetworkTables) -> Engine:
        """An engine for ``network``, which has this engine's shape and other numbers.

        Only the numbers are recomputed (no schedule search), so refilling is cheap.
        """
        if Structure.of(network) is not self.structure:
            raise ValueError("refill needs a network of the same shape (the same nodes, "
                             "parents, states and links); compile a new Engine instead")
        out = object.__new__(Engine)
        out.network, out.max_positive, out.structure = network, self.max_positive, self.structure
        out.tables = fill(self.structure, network, previous=(self.tables, self.network))
        out._grid = self._grid
        out._stratum_weight = stratum_priors(self.structure, network)[1]
        out._fallback = None
        return out

    # public queries -----------------------------------------------------------------
    def posteriors(self, context: np.ndarray, findings: np.ndarray) -> np.ndarray:
        """P(condition = yes | evidence) for every case.

        Parameters
        ----------
        context : int array (n_cases, n_context)
            State index per context node, -1 for unknown.
        findings : int array (n_cases, n_findings)
            1 present, 0 absent, -1 not asked.

        Returns
        -------
        float64 array (n_cases, n_conditions); NaN for evidence of probability zero.
        """
        log_z, joint = self.joint(context, findings)
        with np.errstate(divide="ignore", invalid="ignore"):
            return joint / np.exp(log_z)[:, None]

    def log_evidence(self, context: np.ndarray, findings: np.ndarray) -> np.ndarray:
        """Natural log of P(evidence) per case (-inf when impossible)."""
        return self.joint(context, findings)[0]

    def joint(self, context: np.ndarray, findings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(log P(evidence), P(condition = yes, evidence))`` per case."""
        context = np.asarray(context, dtype=np.int64)
        findings = np.asarray(findings, dtype=np.int8)
        n = len(context)
        shape = (n, len(self.network.context)), (n, len(self.network.findings))
        if context.shape != shape[0] or findings.shape != shape[1]:
            raise ValueError(f"expected context {shape[0]} and findings {shape[1]} arrays; "
                             f"got {context.shape} and {findings.shape}")
        wide = (findings == 1).sum(axis=1) > self.max_positive
        if not wide.any():
            z, joint = self._kernel(context, findings)
        else:
            z = np.zeros(n)
            joint = np.zeros((n, len(self.network.conditions)))
            z[wide], joint[wide] = self._exact_fallback(context[wide], findings[wide])
            fast = np.flatnonzero(~wide)
            if len(fast):
                z[fast], joint[fast] = self._kernel(context[fast], findings[fast])
        with np.errstate(divide="ignore"):
            return np.log(z), joint

    # the kernel path ----------------------------------------------------------------
    def _kernel(self, context: np.ndarray, findings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """P(evidence) and P(c = yes, evidence): sub-cases through the numba kernel, summed."""
        owner, ctx, variant, weight = self._strata_subcases(context)
        n = len(context)
        if not len(owner):  # every case's evidence has probability 0
            return np.zeros(n), np.zeros((n, len(self.network.conditions)))
        one_each = len(owner) == n and bool((owner == np.arange(n)).all())
        fnd = findings if one_each else findings[owner]
        z, joint = self._run(ctx, np.ascontiguousarray(fnd), variant)
        too_wide = np.flatnonzero(z < 0)
        if len(too_wide):  # split by the unknown shared nodes until each part fits
            for i in too_wide:
                parts = self._fix_until_fits(ctx[i], fnd[i])
                repeat = np.repeat(fnd[i:i + 1], len(parts), axis=0)
                z_parts, joint_parts = self._run(parts, repeat, np.full(len(parts), variant[i]),
                                                 limit=np.iinfo(np.int64).max)
                z[i], joint[i] = z_parts.sum(), joint_parts.sum(axis=0)
        z *= weight
        joint *= weight[:, None]
        if one_each:
            return z, joint
        starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        cases = owner[starts]  # a case without a possible variant keeps P(evidence) = 0
        z_out, joint_out = np.zeros(n), np.zeros((n, joint.shape[1]))
        z_out[cases] = np.add.reduceat(z, starts)
        joint_out[cases] = np.add.reduceat(joint, starts, axis=0)
        return z_out, joint_out

    def _run(self, ctx: np.ndarray, fnd: np.ndarray, variant: np.ndarray,
             limit: int = WORKSPACE) -> tuple[np.ndarray, np.ndarray]:
        from . import kernel

        z = np.empty(len(ctx))
        joint = np.empty((len(ctx), len(self.network.conditions)))
        for start in range(0, len(ctx), CHUNK):
            part = slice(start, start + CHUNK)
            kernel.batch(ctx[part], fnd[part], variant[part], self.tables, limit, z[part],
                         joint[part])
        return z, joint

    def _strata_subcases(self, context: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One sub-case per stratum variant consistent with each case (``owner`` sorted).

        Returns the owning case, the context with the strata nodes filled in, the
        variant index, and its weight: P(strata states), times the prior of every
        known context node that no condition reads. Variants of probability 0 (diabetes
        without vascular risk, say) add nothing and are left out, so a case whose
        given context is impossible has no sub-case at all.
        """
        strata = list(self.structure.strata)
        if strata:
            given = context[:, strata]
            fits = ((given[:, None, :] < 0) | (given[:, None, :] == self._grid[None])).all(axis=2)
            fits &= (self._stratum_weight > 0)[None, :]
            owner, variant = np.nonzero(fits)
            ctx = context[owner]
            ctx[:, strata] = self._grid[variant]
        else:
            owner = np.arange(len(context))
            variant = np.zeros(len(context), dtype=np.int64)
            ctx = context
        weight = self._stratum_weight[variant]
        for j in self.structure.unused:
            known = ctx[:, j] >= 0
            if j not in strata and known.any():
                weight = weight.copy()
                start = self.tables.prior_offset[j]
                weight[known] *= self.tables.prior[variant[known], start + ctx[known, j]]
        return owner, np.ascontiguousarray(ctx), variant.astype(np.int64), weight

    def _fix_until_fits(self, ctx: np.ndarray, fnd: np.ndarray) -> np.ndarray:
        """Sub-cases of a case too wide for the kernel: fix its unknown shared nodes, in
        the order the schedule opens them, until it fits. P(e) = Σ_v P(e, x = v), likewise
        P(c, e); every term is non-negative, so the sum is exact."""
        from . import workspace

        row = ctx.copy()
        fixed: list[int] = []
        for kind, j in self.structure.events:
            if workspace.need(row[None], fnd[None], self.tables)[0] <= WORKSPACE:
                break
            if kind == 0 and row[j] < 0:  # an unknown node the schedule opens
                fixed.append(j)
                row[j] = 0
        grid = np.array(list(itertools.product(*(range(self.structure.card[j]) for j in fixed))),
                        dtype=np.int64).reshape(-1, len(fixed))
        rows = np.repeat(row[None], len(grid), axis=0)
        rows[:, fixed] = grid
        return rows

    # the fallback path --------------------------------------------------------------
    def _exact_fallback(self, context: np.ndarray, findings: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray]:
        from .fallback import VariableEliminationFallback

        if self._fallback is None:
            self._fallback = VariableEliminationFallback(self.network)
        return self._fallback.joint(context, findings)
