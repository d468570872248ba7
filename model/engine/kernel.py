"""The numba kernel: exact posteriors of one case at a time, many cases in parallel.

Read ``DESIGN.md`` first: it defines every name used here (rows, width, live
bits, the forward message ``alpha`` and the backward message ``beta``) and derives
the identity this code computes. The kernel runs the schedule of events (open a
context node, run a block, close a node) forward, keeping the message that
enters each block, then backward, where each block state's probability jointly
with the evidence is read off and added to its conditions.

Conventions, used everywhere below:

- A *message* is ``rows × width`` doubles, row-major: row r holds, for one
  combination of the open unknown context nodes (the last opened varies fastest),
  a vector over the 2^live subsets of live present findings already *caused*.
- Live bit p (value ``1 << p``) is present finding ``live[p]``; a newly live
  finding takes the highest bit, a retired one is removed and the higher bits move
  down one place.
- Block state s has the block's member a present when bit a of s is set.

Functions compile on first use and are cached on disk (``cache=True``); set
``NUMBA_DISABLE_JIT=1`` to step through them in plain Python.
"""

from __future__ import annotations

import numpy as np

from ._numba import CACHE, inline, njit, numba
from .blocks import block_causes, run_block, run_block_back, state_weights
from .moves import close_rows, go_live, repeat_rows, retire, undo_go_live, undo_retire
from .schedule import CLOSE, OPEN
from .tables import LOG_ZERO, KernelTables
from .workspace import max_states, need, sizes, workspace

__all__ = ["PARALLEL_FROM", "batch", "one_case", "warm"]



# ----------------------------------------------------------------------------- one case


@inline
def evidence_weights(fnd, T, nc):  # pragma: no cover
    """The present findings, the log weight of the absent ones when each condition is
    present, the log of what no condition changes (the absent findings' leaks, and
    present findings that no condition can cause), and the log of the other present
    findings' leaks (what they weigh when no condition is present)."""
    k = 0
    for f in range(fnd.shape[0]):
        if fnd[f] == 1:
            k += 1
    positives = np.empty(k, dtype=np.int64)
    absent = np.zeros(nc)
    log_const = 0.0
    log_leaks = 0.0
    q = 0
    for f in range(fnd.shape[0]):
        if fnd[f] == 1:
            positives[q] = f
            q += 1
            log_leak = np.log(T.leak[f]) if T.leak[f] > 0.0 else LOG_ZERO
            if T.first_event[f] < 0:
                log_const += log_leak
            else:
                log_leaks += log_leak
        elif fnd[f] == 0:
            log_const += T.log_leak_miss[f]
            for c in range(nc):
                absent[c] += T.log_miss[f, c]
    return positives, absent, log_const, log_leaks


@inline
def forward(ctx, T, positives, absent, W):  # pragma: no cover
    """Run the schedule forward; returns the final message (a single number) and the
    same sum with every block held at its all-absent state 0 (``none``: one number
    per row, carried beside the message)."""
    cur, nxt = W.cur, W.nxt
    none, none_nxt = W.none, W.none_nxt
    k = positives.shape[0]
    cur[0] = 1.0
    none[0] = 1.0
    rows, nb, sp, stored, weight_row = 1, 0, 0, 0, 0
    for e in range(T.event_kind.shape[0]):
        kind = T.event_kind[e]
        j = T.event_arg[e]
        W.rows_at[e] = rows
        width = 1 << nb
        if kind == OPEN:
            if ctx[j] < 0:
                repeat_rows(cur, nxt, rows, width, T.card[j])
                repeat_rows(none, none_nxt, rows, 1, T.card[j])
                cur, nxt = nxt, cur
                none, none_nxt = none_nxt, none
                W.level_of[j] = sp
                W.stack[sp] = j
                sp += 1
                rows *= T.card[j]
            continue
        if kind == CLOSE:
            if ctx[j] < 0:  # rows = outer x card x inner; inner: the nodes opened after j
                inner = 1
                for t in range(W.level_of[j] + 1, sp):
                    inner *= T.card[W.stack[t]]
                    W.stack[t - 1] = W.stack[t]
                    W.level_of[W.stack[t]] = t - 1
                sp -= 1
                W.inner_at[e] = inner
                rows //= T.card[j]
                close_rows(cur, nxt, rows // inner, inner * width, T.card[j])
                close_rows(none, none_nxt, rows // inner, inner, T.card[j])
                cur, nxt = nxt, cur
                none, none_nxt = none_nxt, none
            continue
        for q in range(k):  # the present findings this block is first to be able to cause
            if T.first_event[positives[q]] == e:
                go_live(cur, nxt, rows, width, T.leak[positives[q]])
                cur, nxt = nxt, cur
                W.live_of[nb] = q
                nb += 1
                width *= 2
                W.went_live[e] += 1
        W.bits_at[e] = nb
        for p in range(nb):
            W.live_at[e, p] = W.live_of[p]
        block_causes(T, j, nb, W.live_of, positives, W.causes, W.active)
        W.weights_at[e] = weight_row
        state_weights(T, j, ctx, absent, rows, W.level_of, W.stack, sp, W.stride, W.digit,
                      W.local_w, W.state_w, W.weights, weight_row)
        for r in range(rows):
            none[r] *= W.weights[weight_row + r, 0]
        weight_row += rows
        W.alpha_at[e] = stored
        for i in range(rows * width):
            W.alpha_in[stored + i] = cur[i]
        stored += rows * width
        run_block(cur, nxt, W.tmp, rows, width, T.block_states[j], W.weights, W.weights_at[e],
                  W.causes, W.active, nb)
        cur, nxt = nxt, cur
        for p in range(nb - 1, -1, -1):  # findings no later block can cause
            if T.last_event[positives[W.live_of[p]]] == e:
                retire(cur, nxt, rows, width, p)
                cur, nxt = nxt, cur
                for t in range(p, nb - 1):
                    W.live_of[t] = W.live_of[t + 1]
                nb -= 1
                width //= 2
                W.retired_bit[e, W.retired[e]] = p
                W.retired[e] += 1
    return cur[0], none[0]


@inline
def backward(ctx, T, positives, start, W, joint):  # pragma: no cover
    """Run the schedule backward from ``start``, adding P(state, evidence) to ``joint``."""
    cur, nxt = W.cur, W.nxt
    cur[0] = start
    nb = 0  # every live bit was retired by the end of the forward pass
    for e in range(T.event_kind.shape[0] - 1, -1, -1):
        kind = T.event_kind[e]
        j = T.event_arg[e]
        rows = W.rows_at[e]
        width = 1 << nb
        if kind == CLOSE:
            if ctx[j] < 0:
                inner = W.inner_at[e]
                repeat_rows(cur, nxt, rows // (T.card[j] * inner), inner * width, T.card[j])
                cur, nxt = nxt, cur
            continue
        if kind == OPEN:
            if ctx[j] < 0:
                close_rows(cur, nxt, rows, width, T.card[j])
                cur, nxt = nxt, cur
            continue
        for t in range(W.retired[e] - 1, -1, -1):
            width *= 2
            undo_retire(cur, nxt, rows, width, W.retired_bit[e, t])
            cur, nxt = nxt, cur
        nb = W.bits_at[e]
        for p in range(nb):
            W.live_of[p] = W.live_at[e, p]
        block_causes(T, j, nb, W.live_of, positives, W.causes, W.active)
        run_block_back(T, j, cur, nxt, W.tmp, W.alpha_in, W.alpha_at[e], rows, width, W.weights,
                       W.weights_at[e], W.causes, W.active, nb, joint)
        cur, nxt = nxt, cur
        for _ in range(W.went_live[e]):
            nb -= 1
            width //= 2
            undo_go_live(cur, nxt, rows, width, T.leak[positives[W.live_at[e, nb]]])
            cur, nxt = nxt, cur


@njit
def one_case(ctx, fnd, T, limit, joint):  # pragma: no cover
    """P(evidence) and P(no condition present, evidence) of one case; P(condition = yes,
    evidence) is written into ``joint``.

    Returns (-1, -1) without computing anything when the case needs more than ``limit``
    doubles of workspace (the caller splits it into smaller sub-cases).
    """
    positives, absent, log_const, log_leaks = evidence_weights(fnd, T, joint.shape[0])
    store, peak, weight_rows, most_rows = sizes(ctx, fnd, T)
    if store + 3 * peak + weight_rows * max_states(T) + 2 * most_rows > limit:
        return -1.0, -1.0
    W = workspace(ctx, T, positives.shape[0], store, peak, weight_rows, most_rows)
    for i in range(joint.shape[0]):
        joint[i] = 0.0
    scale = np.exp(log_const)
    z, none = forward(ctx, T, positives, absent, W)
    backward(ctx, T, positives, scale, W, joint)
    return z * scale, none * np.exp(log_const + log_leaks)


# ----------------------------------------------------------------------------- many cases


@njit
def run_serial(ctx, fnd, T, limit, z, none, joint):  # pragma: no cover
    """:func:`one_case` over every case, on the calling thread."""
    for c in range(ctx.shape[0]):
        z[c], none[c] = one_case(ctx[c], fnd[c], T, limit, joint[c])


@numba.njit(cache=CACHE, parallel=True, error_model="numpy")
def run_parallel(ctx, fnd, T, limit, z, none, joint):  # pragma: no cover
    """:func:`one_case` over every case in parallel; each case is one thread's alone,
    so the results do not depend on the number of threads."""
    for c in numba.prange(ctx.shape[0]):
        z[c], none[c] = one_case(ctx[c], fnd[c], T, limit, joint[c])


#: Batches smaller than this run on the calling thread: waking threads costs milliseconds.
PARALLEL_FROM = 256


def batch(ctx: np.ndarray, fnd: np.ndarray, T: KernelTables, limit: int, z: np.ndarray,
          none: np.ndarray, joint: np.ndarray) -> None:
    """Fill ``z`` (P(evidence)), ``none`` (P(no condition present, evidence)) and
    ``joint`` (P(condition = yes, evidence)) for a batch; ``z`` and ``none`` are -1 for
    a case that needs more than ``limit`` doubles of workspace.

    A thread that asked numba for one thread (``numba.set_num_threads(1)``, as Dask
    workers that are threads do) runs on its own: no parallel region is launched, so
    several such threads may run batches at once with any threading layer.
    """
    parallel = len(ctx) >= PARALLEL_FROM and numba.get_num_threads() > 1
    run = run_parallel if parallel else run_serial
    run(ctx, fnd, T, limit, z, none, joint)


def warm(T: KernelTables) -> None:
    """Compile (or load from numba's disk cache) every kernel entry point the engine
    calls, with the argument types it passes: the serial and the parallel batch, which
    compile separately, and the workspace estimate of the split path."""
    n_context, n_findings = T.card.shape[0], T.log_miss.shape[0]
    for n in (1, PARALLEL_FROM):
        ctx = np.full((n, n_context), -1, dtype=np.int64)
        fnd = np.full((n, n_findings), -1, dtype=np.int8)
        fnd[:, 0] = 1
        joint = np.empty((n, T.block_conds.shape[0]))
        batch(ctx, fnd, T, np.iinfo(np.int64).max, np.empty(n), np.empty(n), joint)
        need(ctx, fnd, T)
