"""The checked knowledge base (:class:`KnowledgeBase`) and what it is made of."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..errors import PriorsError
from ..vocabulary import Vocabulary

__all__ = ["AGE_INPUT", "AGE_NODE", "BOOL_STATES", "SOURCE_KINDS", "KnowledgeBase",
           "PriorsError", "TriageRule"]

SOURCE_KINDS = ("seed", "literature", "assumption", "data")
AGE_NODE = "age_band"
AGE_INPUT = "age_years"
BOOL_STATES = ("no", "yes")


@dataclass(frozen=True, slots=True)
class TriageRule:
    """One rule of ``priors/triage.csv``: findings that must all be present, context
    items that must be known to be in given states, and/or a condition whose posterior
    must reach ``threshold``.

    ``context`` holds (context node, accepted states) pairs; ``("diabetes", ("yes",))``
    needs diabetes answered yes, ``("age_band", ("age_0_7", "age_8_14"))`` a child.
    """

    rule: str
    level: str
    findings: tuple[str, ...]
    condition: str | None
    threshold: float | None
    wording: str
    source_kind: str
    source: str
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything in ``priors/``, checked and in the shapes the network needs.

    Attributes
    ----------
    vocabulary : Vocabulary
    context_states : dict
        State names of each context node (``age_years`` is the node ``age_band``).
    context_priors : dict
        P(node = state) of each context node (for a yes/no node with risk ratios, in its
        reference group).
    context_risk_ratios : dict
        context node -> parent context node -> parent state -> risk ratio on P(yes).
    age_bands : tuple of (state, first year, last year)
    baselines : dict
        P(condition) in the reference group (every parent in a state without a row).
    risk_ratios : dict
        condition -> parent -> parent state -> risk ratio.
    links, leaks : dict
        finding -> condition -> P(finding | that condition alone); finding -> leak.
    triage_rules : tuple of TriageRule
    """

    vocabulary: Vocabulary
    context_states: dict[str, tuple[str, ...]]
    context_priors: dict[str, dict[str, float]]
    context_risk_ratios: dict[str, dict[str, dict[str, float]]]
    age_bands: tuple[tuple[str, int, int], ...]
    baselines: dict[str, float]
    risk_ratios: dict[str, dict[str, dict[str, float]]]
    links: dict[str, dict[str, float]]
    leaks: dict[str, float]
    triage_rules: tuple[TriageRule, ...]
    records: pd.DataFrame = field(repr=False)

    @property
    def context_nodes(self) -> tuple[str, ...]:
        """Network names of the context nodes (``age_years`` becomes ``age_band``)."""
        return tuple(self.context_states)

    def condition_parents(self, condition: str) -> tuple[str, ...]:
        """The parents of a condition node, in the order its rows first name them."""
        return tuple(self.risk_ratios[condition])

    def finding_parents(self, finding: str) -> tuple[str, ...]:
        """The conditions linked to a finding, in vocabulary order."""
        linked = self.links.get(finding, {})
        return tuple(c for c in self.vocabulary.conditions if c in linked)

    def states(self, node: str) -> tuple[str, ...]:
        """State names of any node of the network."""
        return self.context_states.get(node, BOOL_STATES)

    def parameters(self) -> pd.DataFrame:
        """One row per number (and per triage rule), with its source (a copy)."""
        return self.records.copy()
