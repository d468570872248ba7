"""The network as arrays (:class:`NetworkTables`), and as a pgmpy model.

heelnet's network has three layers: context nodes (who the person is), conditions
whose prior is a baseline times the risk ratios of their parents, and findings
that are leaky noisy-ORs of the conditions:

    P(finding = no | conditions) = (1 - leak) · Π over present linked conditions (1 - link).

:func:`build` turns a checked knowledge base into a :class:`NetworkTables`: every number
of every table, in the node and state order of :class:`~model.encoding.Encoding`.
The inference engine, the sampler and the pgmpy network are all made from it, so
they agree by construction. :meth:`NetworkTables.to_pgmpy` imports pgmpy only when
called, so ``import model`` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .encoding import Encoding
from .knowledge import BOOL_STATES, KnowledgeBase

if TYPE_CHECKING:
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork

__all__ = ["AUXILIARY", "NetworkTables", "build", "rebuild"]

#: Infix of the auxiliary nodes of a compact network (``swelling__or3``).
AUXILIARY = "__or"


@dataclass(frozen=True, eq=False)
class NetworkTables:
    """Every table of the network, as arrays in engine order.

    Attributes
    ----------
    context : tuple of str
        Context node names; ``context_states[j]`` are node j's states.
    context_parents : tuple of tuple of int
        Each context node's parents, as indices into ``context`` (parents come first).
    context_tables : tuple of ndarray
        ``context_tables[j]`` has shape (*parent state counts, state count): P(node | parents).
    conditions : tuple of str
    condition_parents : tuple of tuple of str
        Each condition's parents: context nodes and conditions, by name.
    condition_tables : tuple of ndarray
        ``condition_tables[i]`` has one axis per parent (its state count): P(yes | parents).
    findings : tuple of str
    leak : ndarray (n_findings,)
        P(finding | none of the conditions).
    link : ndarray (n_conditions, n_findings)
        P(finding | this condition alone, no leak); 0 where not linked.
    """

    context: tuple[str, ...]
    context_states: tuple[tuple[str, ...], ...]
    context_parents: tuple[tuple[int, ...], ...]
    context_tables: tuple[np.ndarray, ...]
    conditions: tuple[str, ...]
    condition_parents: tuple[tuple[str, ...], ...]
    condition_tables: tuple[np.ndarray, ...]
    findings: tuple[str, ...]
    leak: np.ndarray
    link: np.ndarray

    def states(self, node: str) -> tuple[str, ...]:
        """State names of any node."""
        if node in self.context:
            return self.context_states[self.context.index(node)]
        return BOOL_STATES

    def cpd(self, node: str) -> TabularCPD:
        """The pgmpy ``TabularCPD`` of one node (first parent varies slowest)."""
        from pgmpy.factors.discrete import TabularCPD

        if node in self.context:
            j = self.context.index(node)
            parents = [self.context[p] for p in self.context_parents[j]]
            table = self.context_tables[j]
            values = table.reshape(-1, table.shape[-1]).T
        elif node in self.conditions:
            i = self.conditions.index(node)
            parents = list(self.condition_parents[i])
            yes = self.condition_tables[i].reshape(-1)
            values = np.vstack([1.0 - yes, yes])
        else:
            f = self.findings.index(node)
            linked = np.flatnonzero(self.link[:, f] > 0)
            parents = [self.conditions[i] for i in linked]
            absent = np.full((2,) * len(linked), 1.0 - self.leak[f])
            for axis, i in enumerate(linked):  # × (1 - link) where that parent is present
                shape = [2 if a == axis else 1 for a in range(len(linked))]
                absent = absent * np.array([1.0, 1.0 - self.link[i, f]]).reshape(shape)
            values = np.vstack([absent.reshape(-1), 1.0 - absent.reshape(-1)])
        states = {node: list(self.states(node))} | {p: list(self.states(p)) for p in parents}
        return TabularCPD(node, len(states[node]), values, evidence=parents or None,
                          evidence_card=[len(states[p]) for p in parents] or None,
                          state_names=states)

    def chain(self, finding: str, order: Sequence[str] | None = None) -> list[TabularCPD]:
        """The noisy-OR of ``finding`` as a chain of two-parent ORs (pgmpy CPDs).

        With linked conditions c_1..c_k, auxiliary nodes ``finding__or1`` ..
        ``finding__or{k-1}`` carry "caused so far": the first is the leak or c_1, each
        next one the previous or c_m, and ``finding`` itself the last or c_k. Summing
        the auxiliary nodes out gives exactly P(finding = no | conditions) =
        (1 - leak) · Π (1 - link), with tables of 8 numbers instead of 2^(k+1). The
        conditions are chained in ``order`` (by default the vocabulary's).
        """
        from pgmpy.factors.discrete import TabularCPD

        f = self.findings.index(finding)
        rank = {c: r for r, c in enumerate(order or self.conditions)}
        linked = sorted((self.conditions[i] for i in np.flatnonzero(self.link[:, f] > 0)),
                        key=rank.__getitem__)
        links = self.link[[self.conditions.index(c) for c in linked], f]
        names = [f"{finding}{AUXILIARY}{m}" for m in range(1, len(linked))] + [finding]
        states = list(BOOL_STATES)
        first = 1.0 - (1.0 - self.leak[f]) * np.array([1.0, 1.0 - links[0]])
        cpds = [TabularCPD(names[0], 2, np.vstack([1.0 - first, first]), evidence=[linked[0]],
                           evidence_card=[2], state_names={names[0]: states, linked[0]: states})]
        for m in range(1, len(linked)):  # P(yes | so far, c_m): 1 if caused so far, else link
            yes = np.array([0.0, links[m], 1.0, 1.0])
            cpds.append(TabularCPD(names[m], 2, np.vstack([1.0 - yes, yes]),
                                   evidence=[names[m - 1], linked[m]], evidence_card=[2, 2],
                                   state_names={names[m]: states, names[m - 1]: states,
                                                linked[m]: states}))
        return cpds

    def to_pgmpy(self, compact: bool = False, chain_above: int = 2,
                 order: Sequence[str] | None = None) -> DiscreteBayesianNetwork:
        """A pgmpy ``DiscreteBayesianNetwork`` with the same tables (checked by pgmpy).

        With ``compact``, every finding linked to more than ``chain_above`` conditions is
        written as a chain of two-parent ORs (:meth:`chain`, extra nodes of kind
        ``"auxiliary"``): the same distribution over the vocabulary's nodes, with tables
        small enough for VariableElimination when findings with many causes are observed
        (the full table of a finding with 23 causes has 2^24 numbers). ``order`` is the
        order of the conditions along every chain (see :meth:`chain`).
        """
        from pgmpy.models import DiscreteBayesianNetwork

        kinds = (dict.fromkeys(self.context, "context")
                 | dict.fromkeys(self.conditions, "condition")
                 | dict.fromkeys(self.findings, "finding"))
        cpds = []
        for node, kind in kinds.items():
            causes = (self.link[:, self.findings.index(node)] > 0).sum() if kind == "finding" else 0
            wide = causes > chain_above
            cpds += self.chain(node, order) if compact and wide else [self.cpd(node)]
        net = DiscreteBayesianNetwork()
        net.add_nodes_from(cpd.variable for cpd in cpds)
        for cpd in cpds:
            net.add_edges_from((p, cpd.variable) for p in cpd.variables[1:])
        net.add_cpds(*cpds)
        for cpd in cpds:
            net.nodes[cpd.variable]["kind"] = kinds.get(cpd.variable, "auxiliary")
        net.check_model()
        return net


def _risk_table(kb: KnowledgeBase, baseline: float,
                ratios: dict[str, dict[str, float]]) -> np.ndarray:
    """P(yes | parents): the baseline times one risk-ratio vector per parent (one axis each)."""
    table = np.array(baseline)
    for parent, by_state in ratios.items():
        vector = np.array([by_state.get(s, 1.0) for s in kb.states(parent)])
        table = np.multiply.outer(table, vector)
    return table


def _condition_table(kb: KnowledgeBase, condition: str) -> np.ndarray:
    return _risk_table(kb, kb.baselines[condition], kb.risk_ratios[condition])


def _context_table(kb: KnowledgeBase, node: str, states: tuple[str, ...]) -> np.ndarray:
    """P(node | parents): axes (*parents, states); a plain distribution without parents."""
    ratios = kb.context_risk_ratios.get(node)
    if not ratios:
        return np.array([kb.context_priors[node][s] for s in states])
    yes = _risk_table(kb, kb.context_priors[node]["yes"], ratios)
    return np.stack([1.0 - yes, yes], axis=-1)


def build(kb: KnowledgeBase, encoding: Encoding | None = None) -> NetworkTables:
    """The :class:`NetworkTables` of a checked knowledge base, in ``encoding``'s order.

    Examples
    --------
    >>> from model import Model
    >>> net = build(Model.default().knowledge)
    >>> net.condition_parents[net.conditions.index("retrocalcaneal_bursitis")][-1]
    'haglund_deformity'
    """
    enc = encoding or Encoding.of(kb)
    context_tables = tuple(_context_table(kb, node, enc.states[node]) for node in enc.context)
    context_parents = tuple(
        tuple(enc.context.index(p) for p in kb.context_risk_ratios.get(node, {}))
        for node in enc.context
    )
    link = np.zeros((len(enc.conditions), len(enc.findings)))
    for f, finding in enumerate(enc.findings):
        for condition, p in kb.links.get(finding, {}).items():
            link[enc.conditions.index(condition), f] = p
    return NetworkTables(
        context=enc.context,
        context_states=tuple(enc.states[node] for node in enc.context),
        context_parents=context_parents,
        context_tables=context_tables,
        conditions=enc.conditions,
        condition_parents=tuple(kb.condition_parents(c) for c in enc.conditions),
        condition_tables=tuple(_condition_table(kb, c) for c in enc.conditions),
        findings=enc.findings,
        leak=np.array([kb.leaks[f] for f in enc.findings]),
        link=link,
    )


def rebuild(tables: NetworkTables, kb: KnowledgeBase, node: str) -> NetworkTables:
    """``tables`` with only ``node``'s numbers recomputed from ``kb`` (same structure).

    For a context node, its prior; for a condition, its risk table; for a finding,
    its leak and links.
    """
    if node in tables.context:
        j = tables.context.index(node)
        table = _context_table(kb, node, tables.context_states[j])
        context_tables = (*tables.context_tables[:j], table, *tables.context_tables[j + 1:])
        return replace(tables, context_tables=context_tables)
    if node in tables.conditions:
        i = tables.conditions.index(node)
        cpts = (*tables.condition_tables[:i], _condition_table(kb, node),
                *tables.condition_tables[i + 1:])
        return replace(tables, condition_tables=cpts)
    f = tables.findings.index(node)
    leak, link = tables.leak.copy(), tables.link.copy()
    leak[f] = kb.leaks[node]
    link[:, f] = 0.0
    for condition, p in kb.links.get(node, {}).items():
        link[tables.conditions.index(condition), f] = p
    return replace(tables, leak=leak, link=link)
