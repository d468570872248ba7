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
   read are opened (rows split by their states) and closed around those blocks,
   each node's prior P(x | its parents) being carried by one block that reads the
   node and its parents; the others are summed inside their one block.
5. **P(no condition present, evidence)** comes from the same forward pass: one more
   number per row, with every block held at its all-absent state.

``DESIGN.md`` in this folder has the glossary, a worked example small enough to
check by hand, the derivation and the invariants the tests check. Unlike
Quickscore (Heckerman 1989), whose alternating sums lose most digits when
findings are rare, nothing cancels, so results agree with pgmpy's
VariableElimination to ~1e-15. Cases with more than ``max_positive`` present
findings go to pgmpy's VariableElimination (:mod:`.fallback`), also exact.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..network import NetworkTables
from ..progress import while_slow
from .tables import KernelTables, Structure, fill

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
    max_positive : int, default 18
        Cases with more present findings are answered by pgmpy's VariableElimination.
        The kernel's work doubles with each present finding (about 2 s for 18 on the v2
        network, 20 s for 20), while VariableElimination on the 28-condition network can
        take minutes a case, so the kernel keeps every case it can finish in seconds.

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
    >>> case = {"pain_above_heel": True, "palpable_gap": True, "pop_or_snap": True}
    >>> context, findings = Model.default().encoding.encode([case])
    >>> p = engine.posteriors(context, findings)[0]
    >>> engine.network.conditions[int(p.argmax())]
    'achilles_rupture'
    """

    def __init__(self, network: NetworkTables, *, max_positive: int = 18) -> None:
        self.network = network
        self.max_positive = int(max_positive)
        self.structure = Structure.of(network)
        self.tables: KernelTables = fill(self.structure, network)
        self._fallback: Any = None

    def refill(self, network: NetworkTables) -> Engine:
        """An engine for ``network``, which has this engine's shape and other numbers.

        Only the numbers are recomputed (no schedule search), so refilling is cheap.
        """
        if not self._same_shape(network):
            raise ValueError("refill needs a network of the same shape (the same nodes, "
                             "parents, states and links); compile a new Engine instead")
        tables = fill(self.structure, network, previous=(self.tables, self.network))
        return self._refilled(network, tables)

    def refill_many(self, networks: Sequence[NetworkTables]) -> list[Engine]:
        """:meth:`refill` for many networks of this engine's shape, their numbers filled
        together (a Monte Carlo over parameter draws; see :mod:`.draws`)."""
        from .draws import fill_many

        for network in networks:
            if not self._same_shape(network):
                raise ValueError("refill_many needs networks of this engine's shape")
        return [self._refilled(network, tables)
                for network, tables in zip(networks, fill_many(self.structure, networks))]

    def _same_shape(self, network: NetworkTables) -> bool:
        """Same nodes, states, parents and links as this engine's network (the structure
        cache may have been emptied since, so identity of structures is not enough)."""
        mine = self.network
        return (network is mine or (
            network.context == mine.context and network.conditions == mine.conditions
            and network.findings == mine.findings
            and network.context_states == mine.context_states
            and network.context_parents == mine.context_parents
            and network.condition_parents == mine.condition_parents
            and np.array_equal(network.link > 0, mine.link > 0)))

    def _refilled(self, network: NetworkTables, tables: KernelTables) -> Engine:
        out = object.__new__(Engine)
        out.network, out.max_positive, out.structure = network, self.max_positive, self.structure
        out.tables = tables
        out._fallback = None
        return out

    def warm(self) -> float:
        """Compile the numba kernel now (or load it from disk); returns the seconds taken.

        The first use after an install compiles for ~20 s; later processes load the
        compiled code. Call this at a predictable moment (``python -m model warmup``,
        or ``python -m model``, does) so that no batch of cases pays for it.
        """
        import time

        from . import kernel

        start = time.perf_counter()
        kernel.warm(self.tables)
        return time.perf_counter() - start

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
        log_z, joint, _ = self._solve(context, findings, none=False)
        return log_z, joint

    def joint_none(self, context: np.ndarray, findings: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(log P(evidence), P(condition = yes, evidence), log P(no condition, evidence))``
        per case, from one pass of the kernel (``log P(no condition, evidence)`` is the
        same pass with every block held at its all-absent state)."""
        return self._solve(context, findings, none=True)

    def _solve(self, context: np.ndarray, findings: np.ndarray, none: bool
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        context = np.asarray(context, dtype=np.int64)
        findings = np.asarray(findings, dtype=np.int8)
        n = len(context)
        shape = (n, len(self.network.context)), (n, len(self.network.findings))
        if context.shape != shape[0] or findings.shape != shape[1]:
            raise ValueError(f"expected context {shape[0]} and findings {shape[1]} arrays; "
                             f"got {context.shape} and {findings.shape}")
        wide = (findings == 1).sum(axis=1) > self.max_positive
        if not wide.any():
            z, z_none, joint = self._kernel(context, findings)
        else:
            z, z_none = np.zeros(n), np.zeros(n)
            joint = np.zeros((n, len(self.network.conditions)))
            z[wide], joint[wide] = self._exact_fallback(context[wide], findings[wide])
            if none:
                z_none[wide] = self._none_of_wide(context[wide], findings[wide])
            fast = np.flatnonzero(~wide)
            if len(fast):
                z[fast], z_none[fast], joint[fast] = self._kernel(context[fast], findings[fast])
        with np.errstate(divide="ignore"):
            return np.log(z), joint, np.log(z_none)

    def _none_of_wide(self, context: np.ndarray, findings: np.ndarray) -> np.ndarray:
        """P(no condition, evidence) of cases the kernel does not take: with no condition
        present the findings depend on their leaks alone, so it is P(no condition,
        context) (the kernel, no finding given) times their leaks' probabilities."""
        blank = np.full(findings.shape, -1, dtype=np.int8)
        leak = self.tables.leak
        with np.errstate(divide="ignore"):  # log 0 as a huge finite number: 0 x it is 0
            yes, no = np.maximum(np.log(leak), -1e300), np.maximum(np.log1p(-leak), -1e300)
        return self._kernel(context, blank)[1] * np.exp((findings == 1) @ yes
                                                        + (findings == 0) @ no)

    # the kernel path ----------------------------------------------------------------
    def _kernel(self, context: np.ndarray, findings: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P(evidence), P(no condition, evidence) and P(c = yes, evidence) by the kernel."""
        ctx, fnd = np.ascontiguousarray(context), np.ascontiguousarray(findings)
        z, none, joint = self._run(ctx, fnd, code=self._interpreter(len(ctx), ctx, fnd))
        for i in np.flatnonzero(z < 0):  # split by the unknown shared nodes until each fits
            parts = self._fix_until_fits(ctx[i], fnd[i])
            repeat = np.repeat(fnd[i:i + 1], len(parts), axis=0)
            z_parts, none_parts, joint_parts = self._run(parts, repeat,
                                                         limit=np.iinfo(np.int64).max)
            z[i], none[i], joint[i] = z_parts.sum(), none_parts.sum(), joint_parts.sum(axis=0)
        return z, none, joint

    def _run(self, ctx: np.ndarray, fnd: np.ndarray, limit: int = WORKSPACE,
             code: Any = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run ``code`` (the compiled kernel module by default) over cases: P(evidence),
        P(no condition, evidence), P(c = yes, evidence)."""
        notice: Any = contextlib.nullcontext()
        if code is None:  # the compiled kernel: say so if its first use compiles it
            from . import kernel as code

            notice = _first_use(len(ctx) >= code.PARALLEL_FROM)
        z, none = np.empty(len(ctx)), np.empty(len(ctx))
        joint = np.empty((len(ctx), len(self.network.conditions)))
        with notice:
            for start in range(0, len(ctx), CHUNK):
                part = slice(start, start + CHUNK)
                code.batch(ctx[part], fnd[part], self.tables, limit, z[part], none[part],
                           joint[part])
        return z, none, joint

    def _interpreter(self, cases: int, ctx: np.ndarray, fnd: np.ndarray) -> Any:
        """The interpreted kernel module, when allowed for this one small case; else None."""
        from . import interpreted

        limit = interpreted.allowed()
        if cases != 1 or not limit or f"{__name__}.kernel" in sys.modules:
            return None
        if interpreted.need(ctx, fnd, self.tables) > limit:
            return None
        return interpreted.kernel()

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


_USED: set[bool] = set()


def _first_use(parallel: bool) -> Any:
    """On the first run of the serial or the parallel kernel in this process, a notice
    on a terminal if it takes long: numba compiles it once per install (~20 s)."""
    if parallel in _USED:
        return contextlib.nullcontext()
    _USED.add(parallel)
    return while_slow("heelnet: compiling the inference kernel (once per install, ~20 s)")
