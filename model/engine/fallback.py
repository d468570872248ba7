"""Cases with many present findings: pgmpy's VariableElimination, case by case.

The kernel's workspace grows as 2^(live present findings); a case with more
than ``Engine.max_positive`` present findings is answered here instead, exactly
and slowly (tens of milliseconds a case). pgmpy is imported only when such a
case arrives.
"""

from __future__ import annotations

import numpy as np

from ..knowledge import BOOL_STATES
from ..network import NetworkTables

__all__ = ["VariableEliminationFallback"]


class VariableEliminationFallback:
    """P(evidence) and P(condition = yes, evidence) by pgmpy's VariableElimination."""

    def __init__(self, network: NetworkTables) -> None:
        from pgmpy.inference import VariableElimination

        self.network = network
        self.inference = VariableElimination(network.to_pgmpy())

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
                factor = self.inference.query([node], evidence=seen or None, show_progress=False)
                z[r] *= factor.values[list(factor.state_names[node]).index(state)]
                seen[node] = state
            result = self.inference.query(list(net.conditions), evidence=evidence, joint=False,
                                          show_progress=False)
            for i, c in enumerate(net.conditions):
                joint[r, i] = z[r] * result[c].values[list(result[c].state_names[c]).index("yes")]
        return z, joint
