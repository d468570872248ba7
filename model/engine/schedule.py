"""The order of blocks, and when each shared context node is opened and closed.

A context node that several blocks use, and that a case leaves unknown, is summed
out by *opening* it before its first block (each row of the message splits into
one row per state, weighted by the node's prior) and *closing* it after its last
block (the rows are summed back). Opens and closes nest like a stack, so a close
always sums contiguous rows. The block order decides how many nodes are open at
once, and so how many rows each block runs on; :func:`schedule` searches for an
order that keeps that small. See ``DESIGN.md``.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["BLOCK", "CLOSE", "OPEN", "schedule"]

#: Event kinds, as the kernel reads them.
OPEN, BLOCK, CLOSE = 0, 1, 2


def _events(order: list[int], needs: tuple[tuple[int, ...], ...], usage: dict[int, int],
            card: tuple[int, ...]) -> tuple[float, list[tuple[int, int]]]:
    """The events of one block order, and its cost: the summed width of the open nodes."""
    stack: list[int] = []
    events: list[tuple[int, int]] = []
    cost = 0.0
    for position, block in enumerate(order):
        for node in sorted(set(needs[block]) - set(stack), key=lambda v: (-usage[v], v)):
            stack.append(node)
            events.append((OPEN, node))
        cost += float(np.prod([card[j] for j in stack]))
        events.append((BLOCK, block))
        later = {j for b in order[position + 1:] for j in needs[b]}
        while stack and stack[-1] not in later:
            events.append((CLOSE, stack.pop()))
    return cost, events


@functools.lru_cache(maxsize=32)
def schedule(needs: tuple[tuple[int, ...], ...], card: tuple[int, ...]
             ) -> tuple[tuple[int, int], ...]:
    """Events ``(kind, argument)`` for blocks that need the shared nodes ``needs``.

    ``needs[b]`` are the shared context nodes block b reads; ``card[j]`` is node j's
    number of states. Each node is opened once, before its first block, and closed
    as soon as it is on top of the stack and no later block needs it. The block
    order comes from a deterministic local search (a fixed seed) that minimises the
    summed width, so the same structure always gets the same schedule.

    Examples
    --------
    >>> schedule(((0,), (), (0,)), (3,))
    ((0, 0), (1, 0), (1, 2), (2, 0), (1, 1))
    """
    usage = {j: sum(j in n for n in needs) for n in needs for j in n}
    order = sorted(range(len(needs)), key=lambda b: sorted((-usage[j], j) for j in needs[b]))
    best, _ = _events(order, needs, usage, card)
    rng = np.random.default_rng(0)
    for _ in range(1500 if len(order) > 1 else 0):
        i, j = rng.integers(len(order), size=2)
        trial = order.copy()
        trial.insert(j, trial.pop(i))
        cost, _ = _events(trial, needs, usage, card)
        if cost <= best:
            order, best = trial, cost
    return tuple(_events(order, needs, usage, card)[1])
