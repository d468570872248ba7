"""Moves on a message: split and merge rows, bring present findings live and retire
them, fire a block's causes. Each has its transpose for the backward pass.

A message is ``rows × width`` doubles, row-major (see ``DESIGN.md`` and
:mod:`model.engine.kernel`). Every function writes ``nxt`` from ``cur`` (or
works in place on one vector) and is inlined into the kernel.
"""

from __future__ import annotations

from ._numba import inline

__all__ = ["close_rows", "fire", "fire_back", "go_live", "repeat_rows", "retire", "undo_go_live",
           "undo_retire"]



# ----------------------------------------------------------------------------- row moves


@inline
def close_rows(cur, nxt, rows, width, d):  # pragma: no cover
    """Close an open node: each group of d rows is summed into one (``rows`` after).
    Also the transpose of opening one (:func:`repeat_rows`)."""
    for r in range(rows):
        dst = r * width
        for i in range(width):
            nxt[dst + i] = 0.0
        for v in range(d):
            src = (r * d + v) * width
            for i in range(width):
                nxt[dst + i] += cur[src + i]


@inline
def repeat_rows(cur, nxt, rows, width, d):  # pragma: no cover
    """Open an unknown node: each row is copied to its d children, one per state (the
    node's prior is in the weights of the block that carries it). Also the transpose
    of :func:`close_rows`."""
    for r in range(rows):
        for v in range(d):
            src = r * width
            dst = (r * d + v) * width
            for i in range(width):
                nxt[dst + i] = cur[src + i]


# ----------------------------------------------------------------------------- live bits


@inline
def go_live(cur, nxt, rows, width, leak):  # pragma: no cover
    """A present finding gets the new top bit: caused by the leak already, or not yet."""
    for r in range(rows):
        src = r * width
        dst = 2 * r * width
        for i in range(width):
            nxt[dst + i] = cur[src + i] * (1.0 - leak)
            nxt[dst + width + i] = cur[src + i] * leak


@inline
def undo_go_live(cur, nxt, rows, width, leak):  # pragma: no cover
    """Transpose of :func:`go_live` (``width`` after): sum the top bit out against the leak."""
    for r in range(rows):
        src = 2 * r * width
        dst = r * width
        for i in range(width):
            nxt[dst + i] = cur[src + i] * (1.0 - leak) + cur[src + width + i] * leak


@inline
def retire(cur, nxt, rows, width, p):  # pragma: no cover
    """Bit p's finding can no longer be caused: keep its caused half, drop the bit."""
    h = 1 << p
    half = width // 2
    for r in range(rows):
        src = r * width
        dst = r * half
        for hi in range(0, half, h):
            for i in range(h):
                nxt[dst + hi + i] = cur[src + 2 * hi + h + i]


@inline
def undo_retire(cur, nxt, rows, width, p):  # pragma: no cover
    """Transpose of :func:`retire` (``width`` after): bit p back, 0 where not caused."""
    h = 1 << p
    half = width // 2
    for r in range(rows):
        src = r * half
        dst = r * width
        for hi in range(0, half, h):
            for i in range(h):
                nxt[dst + 2 * hi + i] = 0.0
                nxt[dst + 2 * hi + h + i] = cur[src + hi + i]


@inline
def fire(vec, width, causes, s, nb):  # pragma: no cover
    """In place: each live finding not yet caused becomes caused with probability causes[s, p]."""
    for p in range(nb):
        c = causes[s, p]
        if c > 0.0:
            h = 1 << p
            keep = 1.0 - c
            for base in range(0, width, 2 * h):
                for i in range(base, base + h):
                    moved = vec[i] * c
                    vec[i + h] += moved
                    vec[i] *= keep


@inline
def fire_back(vec, width, causes, s, nb):  # pragma: no cover
    """In place: the transpose of :func:`fire`."""
    for p in range(nb):
        c = causes[s, p]
        if c > 0.0:
            h = 1 << p
            keep = 1.0 - c
            for base in range(0, width, 2 * h):
                for i in range(base, base + h):
                    vec[i] = vec[i] * keep + vec[i + h] * c
