"""Build the pgmpy Bayesian network from a checked knowledge base.

Context nodes are roots; each condition depends on its context (and, where the
text names it, another condition) through baseline × risk ratios; each finding is
a noisy-OR of its conditions with a leak. pgmpy's ``NoisyORCPD`` has no leak, so
the finding tables are written out in full here.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pgmpy.factors.discrete import TabularCPD
from pgmpy.models import DiscreteBayesianNetwork

from .knowledge import AGE_INPUT, AGE_NODE, BOOL_STATES, KnowledgeBase, condition_cpd_columns
from .vocabulary import Value

__all__ = ["build_network", "node_cpd", "to_evidence"]


def _bool_cpd(node: str, p_yes: list[float], parents: list[str], kb: KnowledgeBase) -> TabularCPD:
    yes = np.asarray(p_yes, dtype=float)
    states = {node: list(BOOL_STATES)} | {p: list(kb.states(p)) for p in parents}
    return TabularCPD(
        node, 2, np.vstack([1.0 - yes, yes]),
        evidence=parents or None,
        evidence_card=[len(states[p]) for p in parents] or None,
        state_names=states,
    )


def node_cpd(kb: KnowledgeBase, node: str) -> TabularCPD:
    """The table of one node, computed from the knowledge base."""
    if node in kb.context_priors:
        states = list(kb.context_states[node])
        values = np.array([[kb.context_priors[node][s]] for s in states])
        return TabularCPD(node, len(states), values, state_names={node: states})
    if node in kb.vocabulary.conditions:
        parents, p_yes = condition_cpd_columns(kb, node)
        return _bool_cpd(node, p_yes, parents, kb)
    parents = list(kb.finding_parents(node))
    links = kb.links.get(node, {})
    absent = np.full((2,) * len(parents), 1.0 - kb.leaks[node])
    for axis, parent in enumerate(parents):  # × (1 - link) wherever the parent is present
        shape = [2 if a == axis else 1 for a in range(len(parents))]
        absent = absent * np.array([1.0, 1.0 - links[parent]]).reshape(shape)
    return _bool_cpd(node, list(1.0 - absent.ravel()), parents, kb)


def build_network(kb: KnowledgeBase) -> DiscreteBayesianNetwork:
    """Return the network: context -> conditions -> findings, one CPD per node."""
    vocab = kb.vocabulary
    net = DiscreteBayesianNetwork()
    kinds = {n: "context" for n in kb.context_nodes}
    kinds |= {n: "condition" for n in vocab.conditions} | {n: "finding" for n in vocab.findings}
    net.add_nodes_from(kinds)
    cpds = [node_cpd(kb, node) for node in kinds]
    for cpd in cpds:
        net.add_edges_from((p, cpd.variable) for p in cpd.variables[1:])
    net.add_cpds(*cpds)
    for node, kind in kinds.items():
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
