"""Two slow, independent answers to check the engine against.

:func:`forward_backward` is the identity of ``model/engine/DESIGN.md`` written for
clarity, with dense matrices and every context combination enumerated: no live
bits, no opening and closing, no strata. It is here so a reader can see the
algorithm in thirty lines; the kernel must agree with it (and with pgmpy).

:func:`variable_elimination` asks pgmpy, the independent check.
"""

from __future__ import annotations

import itertools

import numpy as np

from model.network import NetworkTables


def _block_members(net: NetworkTables) -> list[list[int]]:
    """Conditions joined by condition -> condition edges (connected components)."""
    groups = [{i} for i in range(len(net.conditions))]
    for i, parents in enumerate(net.condition_parents):
        for p in parents:
            if p in net.conditions:
                a = next(g for g in groups if i in g)
                b = next(g for g in groups if net.conditions.index(p) in g)
                if a is not b:
                    a |= b
                    groups.remove(b)
    return [sorted(g) for g in groups]


def _p_condition(net: NetworkTables, i: int, x: tuple[int, ...], present: dict[int, int]) -> float:
    index = tuple(present[net.conditions.index(p)] if p in net.conditions
                  else x[net.context.index(p)] for p in net.condition_parents[i])
    return float(net.condition_tables[i][index])


def forward_backward(net: NetworkTables, context: np.ndarray, findings: np.ndarray
                     ) -> tuple[float, np.ndarray]:
    """P(evidence) and P(c = yes, evidence) of one case, by DESIGN.md's identity."""
    positive = np.flatnonzero(findings == 1)
    absent = np.flatnonzero(findings == 0)
    k = len(positive)
    z, joint = 0.0, np.zeros(len(net.conditions))
    for x in itertools.product(*(range(len(s)) for s in net.context_states)):
        if any(context[j] >= 0 and context[j] != x[j] for j in range(len(x))):
            continue
        p_x = 1.0
        for j, table in enumerate(net.context_tables):
            parents = tuple(x[p] for p in net.context_parents[j])
            p_x *= table[parents][x[j]] if parents else table[x[j]]
        # alpha_0: each present finding already caused by its leak, independently
        alpha = np.ones(1)
        for f in positive:
            alpha = np.kron(np.array([1 - net.leak[f], net.leak[f]]), alpha)
        operators = []  # per block: {state: weighted transition matrix}
        for members in _block_members(net):
            ops = {}
            for bits in itertools.product((0, 1), repeat=len(members)):
                present = dict(zip(members, bits, strict=True))
                weight = 1.0
                for i, b in present.items():
                    p = _p_condition(net, i, x, present)
                    weight *= p if b else 1 - p
                on = [i for i, b in present.items() if b]
                weight *= np.prod([1 - net.link[i, f] for i in on for f in absent])
                matrix = np.ones((1, 1))
                for f in positive:  # bit j: not caused -> caused with prob r
                    r = 1 - np.prod([1 - net.link[i, f] for i in on])
                    matrix = np.kron(np.array([[1 - r, r], [0, 1]]), matrix)
                ops[bits] = (members, weight * matrix)
            operators.append(ops)
        total = [sum(m for _, m in ops.values()) for ops in operators]
        end = np.zeros(1 << k)
        end[-1] = 1.0  # every present finding caused
        const = p_x * np.prod([1 - net.leak[f] for f in absent])
        forward = [alpha]
        for m in total:
            forward.append(forward[-1] @ m)
        backward = [end]
        for m in reversed(total):
            backward.append(m @ backward[-1])
        backward = backward[::-1]
        z += const * forward[-1] @ end
        for b, ops in enumerate(operators):
            for bits, (members, m) in ops.items():
                p_state = const * forward[b] @ m @ backward[b + 1]
                for i, on in zip(members, bits, strict=True):
                    joint[i] += p_state * on
    return z, joint


def variable_elimination(pgmpy_net, net: NetworkTables, context: np.ndarray,
                         findings: np.ndarray, inference=None) -> np.ndarray:
    """P(condition = yes | evidence) from pgmpy's VariableElimination."""
    from pgmpy.inference import VariableElimination

    ve = inference or VariableElimination(pgmpy_net)
    ev = {x: net.context_states[j][s] for j, (x, s) in enumerate(zip(net.context, context))
          if s >= 0}
    ev |= {f: ("no", "yes")[v] for f, v in zip(net.findings, findings) if v >= 0}
    q = ve.query(variables=list(net.conditions), evidence=ev, joint=False, show_progress=False)
    return np.array([q[c].values[list(q[c].state_names[c]).index("yes")] for c in net.conditions])
