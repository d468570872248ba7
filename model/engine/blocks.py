"""One block of conditions: which live findings each joint state can cause, the weight
of each state in each row, and the block's step on the message (and its transpose,
which also reads off each state's probability jointly with the evidence)."""

from __future__ import annotations

import numpy as np

from ._numba import inline
from .moves import fire, fire_back

__all__ = ["block_causes", "run_block", "run_block_back", "state_weights"]


@inline
def block_causes(T, b, nb, live_of, positives, causes, active):  # pragma: no cover
    """For each state s of block b: causes[s, p] for live bit p, and whether any is > 0."""
    ns = T.block_states[b]
    nf = T.log_miss.shape[0]
    for s in range(ns):
        active[s] = False
        for p in range(nb):
            c = T.cause[T.block_cause_offset[b] + s * nf + positives[live_of[p]]]
            causes[s, p] = c
            if c > 0.0:
                active[s] = True


@inline
def state_weights(T, b, ctx, absent, rows, level_of, stack, sp, stride, digit, local_w,
                  state_w, weights, w0):  # pragma: no cover
    """weights[w0 + r, s] = the block's weight of state s in row r: P(s | row's context)
    × the priors the block carries (``block_weight``) × its absent-findings weight.

    Local context nodes are summed here (over the states the case allows: ``local_w``
    is 1 or 0; their priors are in ``block_weight``); shared ones are read from the
    row: the table offset steps through them in mixed radix, the last opened fastest.
    """
    ns = T.block_states[b]
    c0 = T.block_cond_offset[b]
    m = T.block_cond_offset[b + 1] - c0
    for s in range(ns):  # the absent findings' weight of each state
        log_w = 0.0
        for a in range(m):
            if (s >> a) & 1:
                log_w += absent[T.block_conds[c0 + a]]
        state_w[s] = np.exp(log_w)
    l0 = T.block_local_offset[b]
    n_local = T.block_local_offset[b + 1] - l0
    combos = 1
    for t in range(n_local):
        combos *= T.card[T.local_node[l0 + t]]
    for li in range(combos):  # local nodes in mixed radix, the last fastest
        rest = li
        w = 1.0
        for t in range(n_local - 1, -1, -1):
            node = T.local_node[l0 + t]
            v = rest % T.card[node]
            rest //= T.card[node]
            if ctx[node] >= 0 and ctx[node] != v:
                w = 0.0
        local_w[li] = w
    offset = T.block_table_offset[b]
    for t in range(sp):
        stride[t] = 0
        digit[t] = 0
    for t in range(T.block_shared_offset[b], T.block_shared_offset[b + 1]):
        node = T.shared_node[t]
        if ctx[node] >= 0:
            offset += ctx[node] * T.shared_stride[t]
        else:
            stride[level_of[node]] = T.shared_stride[t]
    for r in range(rows):
        for s in range(ns):
            acc = 0.0
            for li in range(combos):
                acc += local_w[li] * T.block_weight[offset + li * ns + s]
            weights[w0 + r, s] = acc * state_w[s]
        t = sp - 1  # next row
        while t >= 0:
            digit[t] += 1
            offset += stride[t]
            if digit[t] < T.card[stack[t]]:
                break
            offset -= digit[t] * stride[t]
            digit[t] = 0
            t -= 1


@inline
def run_block(cur, nxt, tmp, rows, width, ns, weights, w0, causes, active, nb):  # pragma: no cover
    """nxt = the message after a block of ns states: Σ_s weight_s · fire_s(cur), by row."""
    for r in range(rows):
        src = r * width
        quiet = 0.0  # states that cause no live finding leave the message as it is
        for s in range(ns):
            if not active[s]:
                quiet += weights[w0 + r, s]
        for i in range(width):
            nxt[src + i] = quiet * cur[src + i]
        for s in range(ns):
            w = weights[w0 + r, s]
            if not active[s] or w == 0.0:
                continue
            for i in range(width):
                tmp[i] = cur[src + i]
            fire(tmp, width, causes, s, nb)
            for i in range(width):
                nxt[src + i] += w * tmp[i]


@inline
def run_block_back(T, b, cur, nxt, tmp, alpha, a0, rows, width, weights, w0, causes, active,
                   nb, joint):  # pragma: no cover
    """nxt = the transpose of :func:`run_block` applied to beta; add each state's
    P(state, evidence) = weight · alpha_in · fire_s^T beta to its conditions."""
    ns = T.block_states[b]
    c0 = T.block_cond_offset[b]
    m = T.block_cond_offset[b + 1] - c0
    for r in range(rows):
        src = r * width
        quiet = 0.0
        for s in range(ns):
            if not active[s]:
                quiet += weights[w0 + r, s]
        dot = 0.0
        for i in range(width):
            dot += alpha[a0 + src + i] * cur[src + i]
            nxt[src + i] = quiet * cur[src + i]
        for s in range(1, ns):
            w = weights[w0 + r, s]
            if w == 0.0:
                continue
            if active[s]:
                for i in range(width):
                    tmp[i] = cur[src + i]
                fire_back(tmp, width, causes, s, nb)
                p_state = 0.0
                for i in range(width):
                    p_state += alpha[a0 + src + i] * tmp[i]
                    nxt[src + i] += w * tmp[i]
                p_state *= w
            else:
                p_state = w * dot
            for a in range(m):
                if (s >> a) & 1:
                    joint[T.block_conds[c0 + a]] += p_state
