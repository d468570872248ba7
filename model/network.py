"""Build the pgmpy Bayesian network from a checked knowledge base.

Context nodes are roots; each condition depends on its context (and, where the
text names it, another condition) through baseline × risk ratios; each finding is
a noisy-OR of its conditions with a leak. pgmpy's ``NoisyORCPD`` has no leak, so
the finding tables are written out in full here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np
from pgmpy.factors.discrete import TabularCPD
from pgmpy.models import DiscreteBayesianNetwork

from .knowledge import AGE_INPUT, AGE_NODE, BOOL_STATES, KnowledgeBase, condition_cpd_columns
from .vocabulary import Value

__all__ = ["build_network", "to_evidence"]


def _bool_cpd(node: str, p_yes: list[float], parents: list[str], kb: KnowledgeBase) -> TabularCPD:
    yes = np.asarray(p_yes, dtype=float)
    states = {node: list(BOOL_STATES)} | {p: list(kb.states(p)) for p in parents}
    return TabularCPD(
        node, 2, np.vstack([1.0 - yes, yes]),
        evidence=parents or None,
        evidence_card=[len(states[p]) for p in parents] or None,
        state_names=states,
    )


def build_network(kb: KnowledgeBase) -> DiscreteBayesianNetwork:
    """Return the network: context -> conditions -> findings, one CPD per node."""
    vocab = kb.vocabulary
    net = DiscreteBayesianNetwork()
    net.add_nodes_from([*kb.context_nodes, *vocab.conditions, *vocab.findings])
    cpds = []
    for node, dist in kb.context_priors.items():
        states = list(kb.context_states[node])
        values = np.array([[dist[s]] for s in states])
        cpds.append(TabularCPD(node, len(states), values, state_names={node: states}))
    for cond in vocab.conditions:
        parents, p_yes = condition_cpd_columns(kb, cond)
        net.add_edges_from((p, cond) for p in parents)
        cpds.append(_bool_cpd(cond, p_yes, parents, kb))
    for finding in vocab.findings:
        parents = list(kb.finding_parents(finding))
        net.add_edges_from((p, finding) for p in parents)
        leak, links = kb.leaks[finding], kb.links.get(finding, {})
        p_yes = []
        for combo in itertools.product((False, True), repeat=len(parents)):
            off = math.prod(1.0 - links[p] for p, on in zip(parents, combo, strict=True) if on)
            p_yes.append(1.0 - (1.0 - leak) * off)
        cpds.append(_bool_cpd(finding, p_yes, parents, kb))
    net.add_cpds(*cpds)
    for node, kind in [*((n, "context") for n in kb.context_nodes),
                       *((n, "condition") for n in vocab.conditions),
                       *((n, "finding") for n in vocab.findings)]:
        net.nodes[node]["kind"] = kind
    net.check_model()
    return net


def to_evidence(kb: KnowledgeBase, given: Mapping[str, Value]) -> dict[str, str]:
    """Map validated input values to pgmpy evidence: node name -> state name."""
    out: dict[str, str] = {}
    for name, value in given.items():
        if name == AGE_INPUT:
            out[AGE_NODE] = kb.age_band(int(value))
        elif isinstance(value, bool):
            out[name] = BOOL_STATES[int(value)]
        else:
            out[name] = str(value)
    return out
