"""A case's workspace: how much it needs (:func:`sizes`, :func:`need`), and the
arrays themselves (:class:`Work`), including what the forward pass records for the
backward pass."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._numba import inline, njit
from .schedule import CLOSE, OPEN

__all__ = ["Work", "max_local_combos", "max_states", "need", "sizes", "workspace"]



@njit
def sizes(ctx, fnd, T):  # pragma: no cover
    """Workspace of one case: (stored forward doubles, peak message doubles, weight rows,
    most rows at once)."""
    rows = 1
    most_rows = 1
    bits = 0
    peak = 1
    store = 0
    weights = 0
    nev = T.event_kind.shape[0]
    up = np.zeros(nev, dtype=np.int64)  # present findings that go live at each event
    down = np.zeros(nev, dtype=np.int64)  # ... and that retire after it
    for f in range(fnd.shape[0]):
        if fnd[f] == 1 and T.first_event[f] >= 0:
            up[T.first_event[f]] += 1
            down[T.last_event[f]] += 1
    for e in range(nev):
        j = T.event_arg[e]
        if T.event_kind[e] == OPEN:
            if ctx[j] < 0:
                rows *= T.card[j]
                most_rows = max(most_rows, rows)
        elif T.event_kind[e] == CLOSE:
            if ctx[j] < 0:
                rows //= T.card[j]
        else:
            bits += up[e]
            store += rows << bits
            weights += rows
            peak = max(peak, rows << bits)
            bits -= down[e]
        peak = max(peak, rows << bits)
    return store, peak, weights, most_rows


@njit
def max_states(T):  # pragma: no cover
    """The most joint states of any block."""
    ns = 1
    for b in range(T.block_states.shape[0]):
        ns = max(ns, T.block_states[b])
    return ns


@njit
def max_local_combos(T):  # pragma: no cover
    """The most combinations of local context states of any block."""
    most = 1
    for b in range(T.block_states.shape[0]):
        combos = 1
        for t in range(T.block_local_offset[b], T.block_local_offset[b + 1]):
            combos *= T.card[T.local_node[t]]
        most = max(most, combos)
    return most


@njit
def need(ctx, fnd, T):  # pragma: no cover
    """Doubles of workspace each case needs (ctx: (n, X), fnd: (n, F))."""
    out = np.empty(ctx.shape[0], dtype=np.int64)
    for c in range(ctx.shape[0]):
        store, peak, weights, most_rows = sizes(ctx[c], fnd[c], T)
        out[c] = store + 3 * peak + weights * max_states(T) + 2 * most_rows
    return out


class Work(NamedTuple):
    """One case's workspace, and what the forward pass records for the backward pass."""

    alpha_in: np.ndarray  # the forward message entering each block, block after block
    cur: np.ndarray  # the message (rows x width)
    nxt: np.ndarray  # the next message
    none: np.ndarray  # (rows,) the sum with every block held at state 0 (no condition)
    none_nxt: np.ndarray  # its next value
    tmp: np.ndarray  # one row of it, while a block state fires
    weights: np.ndarray  # (rows of every block, states): P(state | row) x absent weight
    causes: np.ndarray  # (states, live bits) of the current block
    active: np.ndarray  # (states,) can the state cause a live finding?
    live_of: np.ndarray  # live bit p -> index into the present findings
    stack: np.ndarray  # the open unknown nodes, the last opened varying fastest
    level_of: np.ndarray  # a node's place in the stack
    stride: np.ndarray  # table stride of each stack level (0: the block does not read it)
    digit: np.ndarray  # the current row's state at each stack level
    local_w: np.ndarray  # P(local context combination) x the case's indicator
    state_w: np.ndarray  # absent-findings weight of each block state
    rows_at: np.ndarray  # (events,) rows when the event runs
    bits_at: np.ndarray  # (events,) live bits while a block runs
    live_at: np.ndarray  # (events, k) which present findings they are
    went_live: np.ndarray  # (events,) bits added before a block
    retired: np.ndarray  # (events,) bits removed after a block...
    retired_bit: np.ndarray  # (events, k) ...at these places
    inner_at: np.ndarray  # (events,) rows per state of a node when it is closed
    alpha_at: np.ndarray  # (events,) where a block's alpha_in starts
    weights_at: np.ndarray  # (events,) where a block's weight rows start


@inline
def workspace(ctx, T, k, store, peak, weight_rows, most_rows):  # pragma: no cover
    """Allocate a :class:`Work` for one case (sizes from :func:`sizes`)."""
    ns = max_states(T)
    kb = max(k, 1)
    nev = T.event_kind.shape[0]
    nx = ctx.shape[0]
    return Work(
        np.empty(store), np.empty(peak), np.empty(peak), np.empty(most_rows),
        np.empty(most_rows), np.empty(peak),
        np.empty((weight_rows, ns)), np.empty((ns, kb)), np.empty(ns, dtype=np.bool_),
        np.empty(kb, dtype=np.int64), np.empty(nx, dtype=np.int64),
        np.empty(nx, dtype=np.int64), np.empty(nx, dtype=np.int64),
        np.empty(nx, dtype=np.int64), np.empty(max_local_combos(T)), np.empty(ns),
        np.empty(nev, dtype=np.int64), np.zeros(nev, dtype=np.int64),
        np.empty((nev, kb), dtype=np.int64), np.zeros(nev, dtype=np.int64),
        np.zeros(nev, dtype=np.int64), np.empty((nev, kb), dtype=np.int64),
        np.zeros(nev, dtype=np.int64), np.zeros(nev, dtype=np.int64),
        np.zeros(nev, dtype=np.int64),
    )
