"""Fill the kernel's numbers for many networks of one shape at once (parameter draws).

:func:`~.tables.fill` computes one network's :class:`~.tables.KernelTables` with
Python loops over blocks and states, about 2 ms a network. A Monte Carlo over
parameter draws needs hundreds of networks that differ only in their numbers, so
:func:`fill_many` runs the same loops once with a leading *draw* axis on every
array, and hands back one ``KernelTables`` per draw whose float arrays are views
into the stacked ones. The integer arrays (schedule, offsets, live ranges) depend
only on the structure and are shared. Each draw's tables equal ``fill`` of that
draw's network (a test checks it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..network import NetworkTables
from .tables import LOG_ZERO, Block, KernelTables, Structure, carried_priors, fill

__all__ = ["fill_many"]


def _stack(arrays: Sequence[np.ndarray]) -> np.ndarray:
    return np.stack([np.asarray(a, dtype=np.float64) for a in arrays])


def _block_tables(structure: Structure, nets: Sequence[NetworkTables], block: Block,
                  condition_tables: dict[int, np.ndarray]) -> np.ndarray:
    """(draws, *shared, *local, states): P(block state | context), as ``_block_table``."""
    net = nets[0]
    draws = len(nets)
    axes = [*block.shared, *block.local]
    shape = [structure.card[j] for j in axes]
    members = {net.conditions[i]: a for a, i in enumerate(block.conds)}
    m = len(block.conds)
    table = np.ones((draws, *shape, 1 << m))
    for s in range(1 << m):
        for a, i in enumerate(block.conds):
            cpt = condition_tables[i]
            pick = (slice(None), *(((s >> members[p]) & 1) if p in members else slice(None)
                                   for p in net.condition_parents[i]))
            yes = cpt[pick]
            context = [net.context.index(p) for p in net.condition_parents[i]
                       if p not in members]
            order = np.argsort([axes.index(j) for j in context])
            yes = np.transpose(yes, (0, *(1 + order)))
            shaped = yes.reshape([draws] + [structure.card[j] if j in context else 1
                                            for j in axes])
            table[..., s] *= shaped if (s >> a) & 1 else 1.0 - shaped
    return table


def fill_many(structure: Structure, nets: Sequence[NetworkTables]) -> list[KernelTables]:
    """``fill(structure, net)`` for every network of ``nets`` (one shape)."""
    if not nets:
        return []
    base = fill(structure, nets[0])
    draws = len(nets)
    conditions = {i: _stack([n.condition_tables[i] for n in nets])
                  for b in structure.blocks for i in b.conds}
    tables, weights, causes = [], [], []
    context = [_stack([n.context_tables[j] for n in nets])
               for j in range(len(nets[0].context_tables))]
    link = _stack([n.link for n in nets])  # (D, C, F)
    for block in structure.blocks:
        table = _block_tables(structure, nets, block, conditions)
        tables.append(table.reshape(draws, -1))
        weights.append((table * carried_priors(structure, block, context)).reshape(draws, -1))
        miss = np.ones((draws, 1 << len(block.conds), link.shape[2]))
        for s in range(1 << len(block.conds)):
            for a, i in enumerate(block.conds):
                if (s >> a) & 1:
                    miss[:, s] *= 1.0 - link[:, i]
        causes.append((1.0 - miss).reshape(draws, -1))
    leak = _stack([n.leak for n in nets])
    with np.errstate(divide="ignore"):
        log_miss = np.where(link < 1, np.log1p(-np.minimum(link, 1.0)), LOG_ZERO)
        log_leak_miss = np.where(leak < 1, np.log1p(-leak), LOG_ZERO)
    log_miss = np.ascontiguousarray(np.transpose(log_miss, (0, 2, 1)))
    block_table = np.ascontiguousarray(np.concatenate(tables, axis=1) if tables
                                       else np.zeros((draws, 0)))
    block_weight = np.ascontiguousarray(np.concatenate(weights, axis=1) if weights
                                        else np.zeros((draws, 0)))
    cause = np.ascontiguousarray(np.concatenate(causes, axis=1) if causes
                                 else np.zeros((draws, 0)))
    return [
        base._replace(block_table=block_table[d], block_weight=block_weight[d], cause=cause[d],
                      log_miss=log_miss[d], log_leak_miss=log_leak_miss[d], leak=leak[d])
        for d in range(draws)
    ]
