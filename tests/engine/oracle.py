"""The split by stratum the engine made before its kernel summed the strata nodes, and
the engine held at "no condition present": slow, plain routes kept as test oracles for
the kernel's in-pass sums (``test_strata.py``, ``test_interpreted.py``, ``test_none.py``)."""

from __future__ import annotations

import copy

import numpy as np

from model.engine import Engine
from model.engine.tables import Structure
from model.network import NetworkTables


def stratum_grid(structure: Structure) -> np.ndarray:
    """(V, n_strata) the state of each strata node in each variant (the last varies fastest)."""
    cards = [structure.card[j] for j in structure.strata]
    if not cards:
        return np.zeros((1, 0), dtype=np.int64)
    return np.stack(np.unravel_index(np.arange(int(np.prod(cards))), cards), axis=1)


def stratum_weights(structure: Structure, net: NetworkTables) -> np.ndarray:
    """(V,) P(the variant's strata states) = Π P(stratum node's state | its parents)."""
    grid = stratum_grid(structure)
    position = {j: a for a, j in enumerate(structure.strata)}
    weights = np.ones(len(grid))
    for j in structure.strata:
        given = tuple(grid[:, position[p]] for p in structure.context_parents[j])
        dist = net.context_tables[j][given] if given else np.broadcast_to(
            net.context_tables[j], (len(grid), len(net.context_states[j])))
        weights = weights * dist[np.arange(len(grid)), grid[:, position[j]]]
    return weights


def strata_subcases(engine: Engine, context: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One sub-case per stratum variant consistent with each case (``owner`` sorted).

    Returns the owning case, the context with the strata nodes filled in, the variant
    index, and P(variant). The kernel's P(evidence) of a sub-case already includes
    P(variant), so a case's is the sum of its sub-cases'. Variants of probability 0
    (diabetes without vascular risk, say) are left out.
    """
    structure = engine.structure
    grid, weight = stratum_grid(structure), stratum_weights(structure, engine.network)
    strata = list(structure.strata)
    if strata:
        given = context[:, strata]
        fits = ((given[:, None, :] < 0) | (given[:, None, :] == grid[None])).all(axis=2)
        fits &= (weight > 0)[None, :]
        owner, variant = np.nonzero(fits)
        ctx = context[owner]
        ctx[:, strata] = grid[variant]
    else:
        owner = np.arange(len(context))
        variant = np.zeros(len(context), dtype=np.int64)
        ctx = context
    return owner, np.ascontiguousarray(ctx), variant.astype(np.int64), weight[variant]


class _Refused:
    def joint(self, context: np.ndarray, findings: np.ndarray) -> None:
        raise ValueError("none_present() answers cases with at most max_positive present "
                         "findings")


def none_present(engine: Engine) -> Engine:
    """``engine`` with every block held at its all-absent state: the P(evidence) it
    computes is P(no condition present, evidence). Cases beyond ``max_positive`` present
    findings would go to a fallback that does not know of the change: they are refused."""
    tables = engine.tables
    table, weight = tables.block_table.copy(), tables.block_weight.copy()
    ends = [*tables.block_table_offset[1:], len(table)]
    for start, end, states in zip(tables.block_table_offset, ends, tables.block_states):
        for held in (table, weight):  # state fastest; 0: all absent
            held[start:end].reshape(-1, states)[:, 1:] = 0.0
    out = copy.copy(engine)
    out.tables = tables._replace(block_table=table, block_weight=weight)
    out._fallback = _Refused()
    return out
