"""The order of blocks, and when each shared context node is opened and closed.

A context node that several blocks use, and that a case leaves unknown, is summed
out by *opening* it before its first block (each row of the message splits into
one row per state) and *closing* it right after its last block (the rows that
differ only in its state are summed). A node opened later varies faster in the
rows, so closing one that is not the last opened sums rows a fixed stride apart.
The block order decides how many nodes are open at once, and so how many rows
each block runs on; :func:`schedule` searches for an order that keeps that small.
See ``DESIGN.md``.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["BLOCK", "CLOSE", "OPEN", "schedule"]

#: Event kinds, as the kernel reads them.
OPEN, BLOCK, CLOSE = 0, 1, 2


def _cost(order: list[int], needs: tuple[tuple[int, ...], ...], card: tuple[int, ...],
          states: tuple[int, ...]) -> float:
    """Σ over blocks of (rows: the product of the states of the open nodes) × its states."""
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for position, block in enumerate(order):
        for node in needs[block]:
            first.setdefault(node, position)
            last[node] = position
    cost = 0.0
    for position, block in enumerate(order):
        rows = 1
        for node, start in first.items():
            if start <= position <= last[node]:
                rows *= card[node]
        cost += rows * states[block]
    return cost


def _events(order: list[int], needs: tuple[tuple[int, ...], ...]) -> list[tuple[int, int]]:
    """Open each node before the first block of ``order`` that needs it, close it after
    the last."""
    last = {node: position for position, block in enumerate(order) for node in needs[block]}
    events: list[tuple[int, int]] = []
    opened: set[int] = set()
    for position, block in enumerate(order):
        for node in sorted(set(needs[block]) - opened):
            opened.add(node)
            events.append((OPEN, node))
        events.append((BLOCK, block))
        events += [(CLOSE, node) for node in sorted(needs[block]) if last[node] == position]
    return events


def _greedy(needs: tuple[tuple[int, ...], ...], card: tuple[int, ...],
            states: tuple[int, ...]) -> list[int]:
    """A first order: each next block the one that runs on the fewest rows (× states),
    then leaves the fewest open (nodes a block not yet placed still needs)."""
    readers: dict[int, set[int]] = {}
    for block, nodes in enumerate(needs):
        for node in nodes:
            readers.setdefault(node, set()).add(block)
    order: list[int] = []
    placed: set[int] = set()
    open_nodes: set[int] = set()
    while len(order) < len(needs):
        best: tuple[tuple[float, int], set[int]] | None = None
        for block in range(len(needs)):
            if block in placed:
                continue
            at = open_nodes | set(needs[block])
            after = {j for j in at if not readers[j] <= placed | {block}}
            key = (float(np.prod([card[j] for j in at])) * states[block]
                   + float(np.prod([card[j] for j in after])), block)
            if best is None or key < best[0]:
                best = key, after
        assert best is not None
        order.append(best[0][1])
        placed.add(best[0][1])
        open_nodes = best[1]
    return order


@functools.lru_cache(maxsize=32)
def schedule(needs: tuple[tuple[int, ...], ...], card: tuple[int, ...],
             states: tuple[int, ...] | None = None) -> tuple[tuple[int, int], ...]:
    """Events ``(kind, argument)`` for blocks that need the shared nodes ``needs``.

    ``needs[b]`` are the shared context nodes block b reads; ``card[j]`` is node j's
    number of states; ``states[b]`` block b's joint states (1 each if not given). Each
    node is opened once, before its first block, and closed after its last. The block
    order starts from a greedy choice and is improved by a deterministic local search
    (a fixed seed) that minimises the summed rows × states, so the same structure
    always gets the same schedule.

    Examples
    --------
    >>> schedule(((0,), (), (0,)), (3,))
    ((0, 0), (1, 0), (1, 2), (2, 0), (1, 1))
    """
    states = states or (1,) * len(needs)
    order = _greedy(needs, card, states)
    best = _cost(order, needs, card, states)
    rng = np.random.default_rng(0)
    for _ in range(1500 if len(order) > 1 else 0):
        i, j = rng.integers(len(order), size=2)
        trial = order.copy()
        trial.insert(j, trial.pop(i))
        cost = _cost(trial, needs, card, states)
        if cost <= best:
            order, best = trial, cost
    return tuple(_events(order, needs))
