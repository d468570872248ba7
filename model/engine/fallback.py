"""Cases with many present findings: pgmpy's VariableElimination, case by case.

The kernel's workspace grows as 2^(live present findings); a case with more
than ``Engine.max_positive`` present findings is answered here instead, exactly
and slowly (a second or more a case), on the compact network (noisy-ORs as chains of
two-parent ORs). pgmpy is imported only when such a
case arrives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..knowledge import BOOL_STATES
from ..network import AUXILIARY, NetworkTables
from .schedule import BLOCK, CLOSE
from .tables import Structure

if TYPE_CHECKING:
    from pgmpy.models import DiscreteBayesianNetwork

__all__ = ["VariableEliminationFallback", "compact_network"]


def compact_network(network: NetworkTables) -> tuple[DiscreteBayesianNetwork, list[str]]:
    """The compact pgmpy network, its chains in the kernel's order of conditions, and
    an elimination order that follows the kernel's schedule.

    pgmpy's own heuristics can pick orders that need tens of gigabytes on this network
    (every condition reads age and sex, and an observed finding with many causes links
    them all). The kernel's schedule (``DESIGN.md``) is an order that stays small: for
    each block, its local context nodes, its conditions and the chain nodes those
    conditions complete; each shared context node when the schedule closes it; the
    strata nodes last. Give :meth:`VariableElimination.query` this order without the
    query and evidence nodes (pgmpy drops the nodes it prunes).
    """
    structure = Structure.of(network)
    ordered = [network.conditions[i] for kind, b in structure.events if kind == BLOCK
               for i in structure.blocks[b].conds]
    net = network.to_pgmpy(compact=True, order=ordered)
    position = {c: k for k, c in enumerate(ordered)}
    chained = {f: sorted((network.conditions[i] for i in np.flatnonzero(network.link[:, j] > 0)),
                         key=position.__getitem__)
               for j, f in enumerate(network.findings) if f"{f}{AUXILIARY}1" in net}
    strata = {network.context[j] for j in structure.strata}
    order: list[str] = []
    for kind, arg in structure.events:
        if kind == BLOCK:
            block = structure.blocks[arg]
            order += [network.context[j] for j in block.local if network.context[j] not in strata]
            for i in block.conds:
                order.append(network.conditions[i])
                for f, linked in chained.items():  # the chain node this condition completes
                    cond = network.conditions[i]
                    m = linked.index(cond) if cond in linked else 0
                    if m:
                        order.append(f"{f}{AUXILIARY}{m}")
        elif kind == CLOSE and network.context[arg] not in strata:
            order.append(network.context[arg])
    placed = set(order)
    order += [n for n in net.nodes if n not in placed and n not in strata]
    order += [network.context[j] for j in reversed(structure.strata)]
    return net, order


class VariableEliminationFallback:
    """P(evidence) and P(condition = yes, evidence) by pgmpy's VariableElimination."""

    def __init__(self, network: NetworkTables) -> None:
        from pgmpy.inference import VariableElimination

        self.network = network
        net, self.order = compact_network(network)
        self.inference = VariableElimination(net)

    def _query(self, variables: list[str], evidence: dict[str, str]):
        order = [v for v in self.order if v not in evidence and v not in variables]
        return self.inference.query(variables, evidence=evidence or None,
                                    elimination_order=order, show_progress=False)

    def joint(self, context: np.ndarray, findings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(P(evidence), P(condition = yes, evidence))`` per case (not logged)."""
        net = self.network
        z = np.ones(len(context))
        joint = np.empty((len(context), len(net.conditions)))
        for r in range(len(context)):
            evidence = {x: net.context_states[j][s]
                        for j, (x, s) in enumerate(zip(net.context, context[r], strict=True))
                        if s >= 0}
            evidence |= {f: BOOL_STATES[v] for f, v in zip(net.findings, findings[r], strict=True)
                         if v >= 0}
            seen: dict[str, str] = {}
            for node, state in evidence.items():  # the chain rule gives P(evidence)
                factor = self._query([node], seen)
                z[r] *= factor.values[list(factor.state_names[node]).index(state)]
                seen[node] = state
            for i, c in enumerate(net.conditions):  # one query each: a joint over all of
                # them would have 2^(conditions) entries
                factor = self._query([c], evidence)
                joint[r, i] = z[r] * factor.values[list(factor.state_names[c]).index("yes")]
        return z, joint
