"""Compile a :class:`~model.network.NetworkTables` into the flat arrays the kernel reads.

Compiling has two parts. :class:`Structure` depends only on the shape of the
network (parents, state counts, which links are non-zero): the blocks, which
context nodes are shared, strata and local, and the schedule of events. It is
cached by that shape. :func:`fill` then computes every number (:class:`KernelTables`)
from the network's tables; it is cheap, so a network whose numbers change (a
sensitivity analysis, parameter draws for intervals) is refilled, not recompiled.
The names of the fields are those of ``DESIGN.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..network import NetworkTables
from .cache import cached
from .schedule import BLOCK, schedule

__all__ = ["KernelTables", "Structure", "carried_priors", "fill"]


class KernelTables(NamedTuple):
    """Everything the kernel reads: flat int64 / float64 arrays (see ``DESIGN.md``)."""

    card: np.ndarray  # (X,) states of each context node
    event_kind: np.ndarray  # (E,) OPEN, BLOCK or CLOSE
    event_arg: np.ndarray  # (E,) the context node opened/closed, or the block run
    block_states: np.ndarray  # (B,) 2^m joint states of each block
    block_cond_offset: np.ndarray  # (B + 1,) where each block's conditions start
    block_conds: np.ndarray  # condition index of each member, block by block
    block_table_offset: np.ndarray  # (B,) where each block's prior table starts
    block_table: np.ndarray  # P(block state | shared, local context), flat, state fastest
    block_weight: np.ndarray  # block_table x the priors of the context nodes the block carries
    block_shared_offset: np.ndarray  # (B + 1,) where each block's shared nodes start
    shared_node: np.ndarray  # shared context nodes of each block
    shared_stride: np.ndarray  # their strides in the block's table
    block_local_offset: np.ndarray  # (B + 1,) where each block's local nodes start
    local_node: np.ndarray  # local context nodes of each block
    block_cause_offset: np.ndarray  # (B,) where each block's cause table starts
    cause: np.ndarray  # (2^m, F) per block: P(block state causes finding f)
    log_miss: np.ndarray  # (F, C) log(1 - link), LOG_ZERO for a link of 1
    log_leak_miss: np.ndarray  # (F,) log(1 - leak)
    leak: np.ndarray  # (F,)
    first_event: np.ndarray  # (F,) first BLOCK event that can cause f (-1: none)
    last_event: np.ndarray  # (F,) last BLOCK event that can cause f (-1: none)


#: Stands in for log(0): exp() of any sum that includes it is exactly 0.0.
LOG_ZERO = -1e4


@dataclass(frozen=True)
class Block:
    """Conditions joined by condition -> condition edges, enumerated jointly.

    ``conds`` are condition indices; joint state s has member a present when bit a
    of s is set. ``shared`` context nodes are used by other blocks too (opened and
    closed around them); ``local`` ones only by this block (summed into it).
    ``carries``: the context nodes whose prior P(x_j | its parents) this block's
    weights include (each node's prior is carried by exactly one block, which reads
    the node and its parents).
    """

    conds: tuple[int, ...]
    shared: tuple[int, ...]
    local: tuple[int, ...]
    carries: tuple[int, ...] = ()


@dataclass(frozen=True)
class Structure:
    """The shape of a compiled network: blocks, strata and the schedule of events.

    Attributes
    ----------
    card : tuple of int
        States of each context node.
    strata : tuple of int
        Context nodes that are parents of other context nodes (and their ancestors).
        The kernel sums them like any other context node; the fallback eliminates
        them last.
    blocks : tuple of Block
    events : tuple of (kind, argument)
    unused : tuple of int
        Context nodes no condition reads (their prior only scales P(evidence): the
        first block carries it).
    """

    card: tuple[int, ...]
    strata: tuple[int, ...]
    context_parents: tuple[tuple[int, ...], ...]
    condition_parents: tuple[tuple[str, ...], ...]
    blocks: tuple[Block, ...]
    events: tuple[tuple[int, int], ...]
    can_cause: np.ndarray  # (C, F) bool: link > 0
    unused: tuple[int, ...]

    @classmethod
    def of(cls, net: NetworkTables) -> Structure:
        """The structure of ``net``, cached by its shape (not its numbers), in memory and
        on disk (:mod:`.cache`), so a fresh process skips the schedule search."""
        key = (
            tuple(len(s) for s in net.context_states), net.context, net.context_parents,
            net.conditions, net.condition_parents, (net.link > 0).tobytes(), net.link.shape,
        )
        if key not in _STRUCTURES:
            if len(_STRUCTURES) >= 16:
                _STRUCTURES.pop(next(iter(_STRUCTURES)))
            _STRUCTURES[key] = cached(key, lambda: _structure(net))
        return _STRUCTURES[key]


_STRUCTURES: dict[tuple, Structure] = {}


def _structure(net: NetworkTables) -> Structure:
    card = tuple(len(s) for s in net.context_states)
    strata = _strata(net.context_parents)
    index = {c: i for i, c in enumerate(net.conditions)}
    context_index = {x: j for j, x in enumerate(net.context)}
    group = list(range(len(net.conditions)))  # union-find over condition -> condition edges

    def find(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    for i, parents in enumerate(net.condition_parents):
        for p in parents:
            if p in index:
                group[find(index[p])] = find(i)
    members: dict[int, list[int]] = {}
    for i in range(len(net.conditions)):
        members.setdefault(find(i), []).append(i)
    reads = [{context_index[p] for i in m for p in net.condition_parents[i] if p in context_index}
             for m in members.values()]
    carriers = _carriers(reads, net.context_parents, card)
    uses = np.zeros(len(card), dtype=int)
    for nodes in reads:
        uses[sorted(nodes)] += 1
    blocks = tuple(
        Block(tuple(m), tuple(j for j in sorted(reads[b]) if uses[j] > 1),
              tuple(j for j in sorted(reads[b]) if uses[j] == 1),
              tuple(j for j in range(len(card)) if carriers[j] == b))
        for b, m in enumerate(members.values())
    )
    events = schedule(tuple(b.shared for b in blocks), card,
                      tuple(1 << len(b.conds) for b in blocks))
    read = {p for i in range(len(net.conditions)) for p in net.condition_parents[i]}
    unused = tuple(j for j, x in enumerate(net.context) if x not in read)
    return Structure(card, strata, net.context_parents, net.condition_parents, blocks, events,
                     net.link > 0, unused)


def _carriers(reads: list[set[int]], parents: tuple[tuple[int, ...], ...],
              card: tuple[int, ...]) -> list[int]:
    """The block that carries each context node's prior P(x_j | parents); ``reads[b]``
    (the context nodes block b reads) gains the node's parents where needed.

    A node is carried by the block that reads it and already reads most of its parents
    (fewest added states; then the first), so the prior's factor is applied while
    the node and its parents are all open. Children go first, since carrying a child
    makes its block read the parents. A node no block reads is carried by block 0.
    """
    if not reads:
        raise ValueError("a network needs at least one condition")
    carriers = [0] * len(card)
    for j in reversed(_topological(parents)):
        readers = [b for b, nodes in enumerate(reads) if j in nodes] or [0]

        def added(b: int, j: int = j) -> tuple[int, int]:
            return int(np.prod([card[p] for p in parents[j] if p not in reads[b]])), b

        carriers[j] = min(readers, key=added)
        reads[carriers[j]].update((j, *parents[j]))
    return carriers


def _topological(parents: tuple[tuple[int, ...], ...]) -> list[int]:
    """Context nodes, each after its parents (ties in node order)."""
    done: list[int] = []
    while len(done) < len(parents):
        layer = [j for j in range(len(parents))
                 if j not in done and all(p in done for p in parents[j])]
        if not layer:
            raise ValueError("the context nodes' parents form a cycle")
        done += layer
    return done


def _strata(parents: tuple[tuple[int, ...], ...]) -> tuple[int, ...]:
    """Context nodes with context children, with their ancestors, in node order."""
    marked: set[int] = set()
    todo = [p for ps in parents for p in ps]
    while todo:
        j = todo.pop()
        if j not in marked:
            marked.add(j)
            todo.extend(parents[j])
    return tuple(sorted(marked))


# ----------------------------------------------------------------------------- numbers


def _block_table(structure: Structure, net: NetworkTables, block: Block) -> np.ndarray:
    """P(block state | shared, local context): axes (*shared, *local, state)."""
    axes = [*block.shared, *block.local]
    shape = [structure.card[j] for j in axes]
    members = {net.conditions[i]: a for a, i in enumerate(block.conds)}
    m = len(block.conds)
    table = np.ones((*shape, 1 << m))
    for s in range(1 << m):
        for a, i in enumerate(block.conds):
            present = (s >> a) & 1
            cpt = net.condition_tables[i]
            pick = tuple(((s >> members[p]) & 1) if p in members else slice(None)
                         for p in net.condition_parents[i])
            yes = cpt[pick]  # remaining axes: this condition's context parents, in its order
            context = [net.context.index(p) for p in net.condition_parents[i]
                       if p not in members]
            yes = np.transpose(yes, np.argsort([axes.index(j) for j in context]))
            shaped = yes.reshape([structure.card[j] if j in context else 1 for j in axes])
            table[..., s] *= shaped if present else 1.0 - shaped
    return table


def carried_priors(structure: Structure, block: Block, context_tables: list[np.ndarray]
                   ) -> np.ndarray:
    """(draws, *shared, *local, 1): the product of the priors ``block`` carries, over its
    axes. ``context_tables[j]`` is node j's table with a leading draw axis:
    (draws, *parents' states, states). Multiplied into the block's table, it gives
    ``block_weight`` (the same operations for one network and for many draws)."""
    axes = [*block.shared, *block.local]
    draws = len(context_tables[0]) if context_tables else 1
    out = np.ones((draws, *(structure.card[a] for a in axes), 1))
    for j in block.carries:
        nodes = [*structure.context_parents[j], j]
        order = np.argsort([axes.index(n) for n in nodes])
        table = np.transpose(context_tables[j], (0, *(1 + order)))
        out = out * table.reshape([draws, *(structure.card[a] if a in nodes else 1
                                            for a in axes), 1])
    return out


def fill(structure: Structure, net: NetworkTables,
         previous: tuple[KernelTables, NetworkTables] | None = None) -> KernelTables:
    """The kernel's :class:`KernelTables` for ``net``, whose shape is ``structure``.

    ``previous`` (tables filled for another network of the same shape, and that
    network) lets a block whose conditions' tables are the very same arrays keep its
    prior table: :func:`model.network.rebuild` changes one node's arrays and shares the
    rest, so a sensitivity analysis refills one block, not all of them.
    """
    i64 = np.int64
    card = np.array(structure.card, dtype=i64)
    tables, weights, causes = [], [], []
    stacked = [np.asarray(t, dtype=np.float64)[None] for t in net.context_tables]
    shared_node, shared_stride, local_node = [], [], []
    table_off, cause_off, shared_off, local_off, cond_off = [0], [0], [0], [0], [0]
    for b, block in enumerate(structure.blocks):
        shape = [structure.card[j] for j in (*block.shared, *block.local)] + [1 << len(block.conds)]
        old = None
        if previous is not None and all(net.condition_tables[i] is previous[1].condition_tables[i]
                                        for i in block.conds):
            start = previous[0].block_table_offset[b]
            old = previous[0].block_table[start:start + int(np.prod(shape))]
        table = (old.reshape(shape) if old is not None
                 else np.ascontiguousarray(_block_table(structure, net, block)))
        tables.append(table.ravel())
        weights.append((table * carried_priors(structure, block, stacked)[0]).ravel())
        table_off.append(table_off[-1] + table.size)
        shared_node += block.shared
        shared_stride += [table.strides[a] // 8 for a in range(len(block.shared))]
        shared_off.append(len(shared_node))
        local_node += block.local
        local_off.append(len(local_node))
        cond_off.append(cond_off[-1] + len(block.conds))
        miss = np.ones((1 << len(block.conds), len(net.findings)))
        for s in range(1 << len(block.conds)):
            for a, i in enumerate(block.conds):
                if (s >> a) & 1:
                    miss[s] *= 1.0 - net.link[i]
        causes.append((1.0 - miss).ravel())
        cause_off.append(cause_off[-1] + miss.size)
    with np.errstate(divide="ignore"):
        log_miss = np.where(net.link < 1, np.log1p(-np.minimum(net.link, 1.0)), LOG_ZERO)
        log_leak_miss = np.where(net.leak < 1, np.log1p(-net.leak), LOG_ZERO)
    first, last = _live_range(structure)
    return KernelTables(
        card=card,
        event_kind=np.array([k for k, _ in structure.events], dtype=i64),
        event_arg=np.array([a for _, a in structure.events], dtype=i64),
        block_states=np.array([1 << len(b.conds) for b in structure.blocks], dtype=i64),
        block_cond_offset=np.array(cond_off, dtype=i64),
        block_conds=np.array([c for b in structure.blocks for c in b.conds], dtype=i64),
        block_table_offset=np.array(table_off[:-1], dtype=i64),
        block_table=np.concatenate(tables) if tables else np.zeros(0),
        block_weight=np.concatenate(weights) if weights else np.zeros(0),
        block_shared_offset=np.array(shared_off, dtype=i64),
        shared_node=np.array(shared_node, dtype=i64),
        shared_stride=np.array(shared_stride, dtype=i64),
        block_local_offset=np.array(local_off, dtype=i64),
        local_node=np.array(local_node, dtype=i64),
        block_cause_offset=np.array(cause_off[:-1], dtype=i64),
        cause=np.concatenate(causes) if causes else np.zeros(0),
        log_miss=np.ascontiguousarray(log_miss.T),
        log_leak_miss=np.ascontiguousarray(log_leak_miss, dtype=np.float64),
        leak=np.ascontiguousarray(net.leak, dtype=np.float64),
        first_event=first,
        last_event=last,
    )


def _live_range(structure: Structure) -> tuple[np.ndarray, np.ndarray]:
    """For each finding, the first and last BLOCK event whose block can cause it."""
    n_findings = structure.can_cause.shape[1]
    can = np.zeros((len(structure.events), n_findings), dtype=bool)
    for e, (kind, b) in enumerate(structure.events):
        if kind == BLOCK:
            can[e] = structure.can_cause[list(structure.blocks[b].conds)].any(axis=0)
    seen = can.any(axis=0)
    first = np.where(seen, can.argmax(axis=0), -1)
    last = np.where(seen, len(can) - 1 - can[::-1].argmax(axis=0), -1)
    return first.astype(np.int64), last.astype(np.int64)

