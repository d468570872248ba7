"""The one encoding layer: node order, state indices and the codes the engine reads.

:class:`Encoding` is built from a checked knowledge base and owns everything that
turns a validated input into numbers and back:

- the order of the context nodes, conditions and findings (the columns of every
  array the engine takes and returns);
- the states of each node, and the state index of each value (``age_years``
  becomes the index of its ``age_band``; ``True``/``False`` the index of
  ``yes``/``no``);
- the pgmpy evidence dict of a case (state *names*, for the network);
- whole columns of raw values (a table of cases), parsed once per distinct value
  with the vocabulary's own messages (:meth:`Encoding.column`).

Engine arrays: ``context`` is int64 (n, n_context) with a state index per node and
-1 for unknown; ``findings`` is int8 (n, n_findings) with 1 present, 0 absent and
-1 not asked.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import InvalidValueError
from .knowledge import AGE_INPUT, AGE_NODE, BOOL_STATES, KnowledgeBase
from .vocabulary import Value, Vocabulary

__all__ = ["NOT_GIVEN", "Encoding"]

#: The code of a context item that is unknown or a finding that was not asked.
NOT_GIVEN = -1


@dataclass(frozen=True)
class Encoding:
    """Node order and state codes of one knowledge base.

    Attributes
    ----------
    context : tuple of str
        Context node names, in engine column order (``age_band``, not ``age_years``).
    states : dict of str to tuple of str
        State names of every context node (conditions and findings are ``no``/``yes``).
    conditions, findings : tuple of str
        Condition and finding ids, in engine column order.
    age_bands : tuple of (state, first year, last year)
    vocabulary : Vocabulary
        Parses raw values (see :meth:`column`).
    """

    context: tuple[str, ...]
    states: dict[str, tuple[str, ...]]
    conditions: tuple[str, ...]
    findings: tuple[str, ...]
    age_bands: tuple[tuple[str, int, int], ...]
    vocabulary: Vocabulary = field(repr=False, compare=False)

    @classmethod
    def of(cls, kb: KnowledgeBase) -> Encoding:
        """The encoding of a knowledge base."""
        return cls(kb.context_nodes, dict(kb.context_states), kb.vocabulary.conditions,
                   kb.vocabulary.findings, kb.age_bands, kb.vocabulary)

    # names ------------------------------------------------------------------------
    @staticmethod
    def node_of(item: str) -> str:
        """The network node of an input id (``age_years`` is ``age_band``)."""
        return AGE_NODE if item == AGE_INPUT else item

    @staticmethod
    def item_of(node: str) -> str:
        """The input id of a network node (``age_band`` is asked as ``age_years``)."""
        return AGE_INPUT if node == AGE_NODE else node

    def age_band(self, age_years: int) -> str:
        """The ``age_band`` state of a whole age in years."""
        for state, lo, hi in self.age_bands:
            if lo <= age_years <= hi:
                return state
        raise ValueError(f"no age band covers {age_years} years")  # the loader prevents this

    # codes ------------------------------------------------------------------------
    def state(self, item: str, value: Value) -> str:
        """The state name of a validated value of an input id."""
        if item == AGE_INPUT:
            return self.age_band(int(value))
        if isinstance(value, bool):
            return BOOL_STATES[int(value)]
        return str(value)

    def code(self, item: str, value: Value) -> int:
        """The engine code of one validated value: 1/0 for a finding, else the state
        index of the context node."""
        if item in self._finding_index:
            return int(bool(value))
        node = self.node_of(item)
        return self.states[node].index(self.state(item, value))

    def encode(self, cases: Sequence[Mapping[str, Value]]) -> tuple[np.ndarray, np.ndarray]:
        """Engine arrays ``(context, findings)`` of validated cases.

        Examples
        --------
        >>> from model import Model
        >>> enc = Model.default().encoding
        >>> context, findings = enc.encode([{"age_years": 41, "swelling": True}])
        >>> enc.states["age_band"][context[0, enc.context.index("age_band")]]
        'age_35_44'
        >>> int(findings[0, enc.findings.index("swelling")]), int(findings[0, 0])
        (1, -1)
        """
        context = np.full((len(cases), len(self.context)), NOT_GIVEN, dtype=np.int64)
        findings = np.full((len(cases), len(self.findings)), NOT_GIVEN, dtype=np.int8)
        for row, case in enumerate(cases):
            for item, value in case.items():
                column = self._finding_index.get(item)
                if column is not None:
                    findings[row, column] = int(bool(value))
                else:
                    context[row, self._context_index[self.node_of(item)]] = self.code(item, value)
        return context, findings

    def evidence(self, case: Mapping[str, Value]) -> dict[str, str]:
        """The pgmpy evidence dict of a validated case: node name -> state name."""
        return {self.node_of(item): self.state(item, value) for item, value in case.items()}

    def column(self, item: str, values: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
        """Engine codes of a whole column of raw values of an input id.

        Each distinct value is parsed once by :meth:`Vocabulary.parse` (so the
        messages are the vocabulary's own) and mapped onto the column with
        :func:`pandas.factorize`. Returns the codes (-1 for blank or bad cells) and,
        if any cell is bad, an array of messages (``""`` for good cells).
        """
        cache = self._parsed.setdefault(item, {})
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        parsed = []
        for raw in uniques:
            if isinstance(raw, np.generic):  # numpy scalars from typed columns
                raw = raw.item()
            key = (type(raw), raw)
            if key not in cache:
                cache[key] = self._parse(item, raw)
            parsed.append(cache[key])
        parsed.append((NOT_GIVEN, ""))  # factorize's -1 (NaN, None, NA) is the last entry
        mapped = np.array([p[0] for p in parsed], dtype=np.int64)[codes]
        messages = np.array([p[1] for p in parsed], dtype=object)
        return mapped, (messages[codes] if (messages != "").any() else None)

    def _parse(self, item: str, raw: Any) -> tuple[int, str]:
        try:
            value = self.vocabulary.parse(item, raw)
        except InvalidValueError as error:
            return NOT_GIVEN, str(error).rstrip(".")  # messages are "; "-joined
        return (NOT_GIVEN, "") if value is None else (self.code(item, value), "")

    # lookups ----------------------------------------------------------------------
    @functools.cached_property
    def _parsed(self) -> dict[str, dict[Any, tuple[int, str]]]:
        return {}

    @functools.cached_property
    def _context_index(self) -> dict[str, int]:
        return {node: j for j, node in enumerate(self.context)}

    @functools.cached_property
    def _finding_index(self) -> dict[str, int]:
        return {f: j for j, f in enumerate(self.findings)}
