"""The vocabulary of ids and the one place where user input is validated.

Every entry point (``diagnose``, ``evidence``, the CLI) passes what the user gave
through :meth:`Vocabulary.validate`, and ``score`` through the same
:meth:`Vocabulary.parse` column by column; code past it trusts its input.
Errors subclass ``ValueError`` and say what was wrong, what is accepted and, for
names, the closest valid ids.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import HeelnetError, InvalidValueError, PriorsError, UnknownIdError

__all__ = ["DIAGNOSIS", "OTHER_CAUSE", "HeelnetError", "InvalidValueError", "UnknownIdError",
           "Variable", "Vocabulary"]

KINDS = ("context", "finding", "condition", "triage")
#: The ``type`` of a condition row: a diagnosis (ranked, named as the leader, expected)
#: or another cause (a node of the network like any condition, never ranked).
DIAGNOSIS, OTHER_CAUSE = "bool", "other"
_WHOLE = re.compile(r"^\s*[+-]?\d+(\.0*)?\s*$")  # "41", "41.0"; not "4e1" or "forty"
_BOOL_NUMBER = re.compile(r"^\s*([01])\.0*\s*$")  # "1.0", "0.0": pandas' floats of 1 and 0
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
BOOL_ACCEPTED = "yes/no, true/false or 1/0 (any case), or blank for not asked"

#: The value a caller may give for a variable: ``True``/``False`` for a finding or a
#: boolean context item, a whole number for ``age_years``, a string for ``sex``.
Value = bool | int | str


@dataclass(frozen=True, slots=True)
class Variable:
    """One row of the vocabulary: an id, its kind and type, and its meaning."""

    kind: str
    id: str
    type: str
    values: tuple[str, ...]
    meaning: str


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` ids from ``candidates`` that look most like ``name``.

    Only ids nearly as close as the best one are kept, so a plain typo gets one
    suggestion and a vague name a few.
    """
    pool = list(candidates)
    found = difflib.get_close_matches(name, pool, n=n, cutoff=0.6)
    if not found:  # a looser net for short or badly mangled names
        found = difflib.get_close_matches(name.lower(), pool, n=n, cutoff=0.4)
    if not found:
        return []
    ratio = [difflib.SequenceMatcher(None, name.lower(), f).ratio() for f in found]
    return [f for f, r in zip(found, ratio) if r >= max(ratio) - 0.1]


def suggestion(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or ``""`` when nothing is close."""
    near = closest(name, candidates)
    if not near:
        return ""
    if len(near) == 1:
        return f"; did you mean '{near[0]}'?"
    return "; did you mean " + ", ".join(f"'{n}'" for n in near[:-1]) + f" or '{near[-1]}'?"


def is_blank(raw: Any) -> bool:
    """True for the values that mean "not asked": None, NaN, NA and empty strings."""
    if raw is None:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    if isinstance(raw, str) and raw.strip() == "":
        return True
    try:  # pandas.NA and friends, without importing pandas here
        return bool(raw != raw)
    except (TypeError, ValueError):
        return True


class Vocabulary:
    """The ids heelnet knows, read from ``priors/vocabulary.csv``.

    Parameters
    ----------
    variables : iterable of Variable
        The rows, in file order (the order is kept everywhere: output columns,
        network nodes, ranked ties).

    Attributes
    ----------
    context, findings, triage_levels : tuple of str
        The ids of each kind, in file order; ``inputs`` is context then findings.
    conditions : tuple of str
        Every condition node of the network, in file order: the diagnoses and the
        other causes.
    diagnoses : tuple of str
        The conditions of type ``bool``: what the model ranks, names as the leader and
        accepts as an expected answer.
    other_causes : tuple of str
        The conditions of type ``other``: causes of findings that are not a diagnosis
        (a painful calf that is not a clot). They enter inference like any condition
        (priors, risk ratios, links) but are never ranked, named as the leader or
        counted as a hit or a miss.

    Examples
    --------
    >>> vocab = Vocabulary([Variable("condition", "clot", "bool", (), "A clot"),
    ...                     Variable("condition", "other_calf", "other", (), "Not a clot")])
    >>> vocab.conditions, vocab.diagnoses, vocab.other_causes
    (('clot', 'other_calf'), ('clot',), ('other_calf',))
    """

    def __init__(self, variables: Iterable[Variable]) -> None:
        self.variables: dict[str, Variable] = {}
        for var in variables:
            if var.id in self.variables:
                raise PriorsError(f"vocabulary: id '{var.id}' is listed twice")
            self.variables[var.id] = var
        by_kind = {k: tuple(v.id for v in self.variables.values() if v.kind == k) for k in KINDS}
        self.context: tuple[str, ...] = by_kind["context"]
        self.findings: tuple[str, ...] = by_kind["finding"]
        self.conditions: tuple[str, ...] = by_kind["condition"]
        for name in self.conditions:
            if self.variables[name].type not in (DIAGNOSIS, OTHER_CAUSE):
                raise PriorsError(
                    f"vocabulary: condition '{name}' has type '{self.variables[name].type}'; "
                    f"a condition's type must be '{DIAGNOSIS}' (a diagnosis) or "
                    f"'{OTHER_CAUSE}' (another cause of findings, never ranked)"
                )
        self.diagnoses: tuple[str, ...] = tuple(
            c for c in self.conditions if self.variables[c].type == DIAGNOSIS)
        self.other_causes: tuple[str, ...] = tuple(
            c for c in self.conditions if self.variables[c].type == OTHER_CAUSE)
        self.triage_levels: tuple[str, ...] = by_kind["triage"]
        self.inputs: tuple[str, ...] = self.context + self.findings

    @classmethod
    def from_csv_text(cls, text: str, where: str = "vocabulary.csv") -> Vocabulary:
        """Parse the vocabulary CSV; errors name ``where`` and the line."""
        reader = csv.DictReader(io.StringIO(text))
        needed = {"kind", "id", "type", "values", "meaning"}
        missing = needed - set(reader.fieldnames or ())
        if missing:
            raise PriorsError(f"{where}: missing column(s) {sorted(missing)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            if row["kind"] not in KINDS:
                raise PriorsError(
                    f"{where}, line {line}: kind must be one of {', '.join(KINDS)}; "
                    f"got '{row['kind']}'"
                )
            values = tuple(v for v in (row["values"] or "").split("|") if v)
            rows.append(Variable(row["kind"], row["id"], row["type"], values, row["meaning"]))
        return cls(rows)

    def __contains__(self, name: object) -> bool:
        return name in self.variables

    def __getitem__(self, name: str) -> Variable:
        return self.variables[name]

    def kind(self, name: str) -> str:
        """The kind of ``name`` (``context``, ``finding``, ``condition``, ``triage``)."""
        return self.variables[name].kind

    def is_other_cause(self, name: str) -> bool:
        """True for a condition of type ``other`` (a cause that is not a diagnosis)."""
        var = self.variables.get(name)
        return var is not None and var.kind == "condition" and var.type == OTHER_CAUSE

    def check_input_id(self, name: Any) -> str:
        """Return ``name`` if it is a context or finding id, else raise UnknownIdError."""
        if not isinstance(name, str):
            raise UnknownIdError(f"finding names must be strings; got {name!r}")
        if name in self.variables and self.kind(name) in ("context", "finding"):
            return name
        if name in self.variables:
            raise UnknownIdError(
                f"'{name}' is a {self.kind(name)}, not a finding or context item; "
                "give only what is known about the patient"
            )
        alias = {"age": "age_years", "gender": "sex"}.get(name.lower())
        if alias in self.variables:
            raise UnknownIdError(f"unknown context item '{name}'; did you mean '{alias}'?")
        raise UnknownIdError(f"unknown finding '{name}'{suggestion(name, self.inputs)}")

    def parse(self, name: str, raw: Any) -> Value | None:
        """Convert one raw value for ``name``; ``None`` means not asked (or unknown).

        Several values at once (a list, an array, a Series) are an error, never read
        as "not asked"."""
        if _several(raw):
            raise InvalidValueError(f"'{name}' must be one value, not several; got "
                                    f"{_describe_several(raw)}")
        if is_blank(raw):
            return None
        if hasattr(raw, "item") and getattr(raw, "ndim", None) == 0:  # numpy or pandas scalar
            raw = raw.item()
        var = self.variables[name]
        if var.type == "bool":
            return _parse_bool(name, raw)
        if var.type == "int":
            lo, hi = (int(x) for x in var.values[0].split("-"))
            return _parse_whole(name, raw, lo, hi)
        if var.type == "enum":
            text = str(raw).strip().lower() if isinstance(raw, str) else None
            if text in var.values:
                return text
            accepted = " or ".join(f"'{v}'" for v in var.values)
            raise InvalidValueError(
                f"'{name}' must be {accepted} (or blank for unknown); got {raw!r}"
            )
        raise PriorsError(f"vocabulary: '{name}' has an unknown type '{var.type}'")

    def validate(self, findings: Mapping[str, Any]) -> dict[str, Value]:
        """Check ids and values; return the given items with not-asked ones dropped.

        Examples
        --------
        >>> from model import Model
        >>> vocab = Model.default().vocabulary
        >>> vocab.validate({"age_years": "41", "swelling": "No", "fever": None})
        {'age_years': 41, 'swelling': False}
        >>> try:
        ...     vocab.validate({"pain_heal_back": True})
        ... except ValueError as error:
        ...     print(error)
        unknown finding 'pain_heal_back'; did you mean 'pain_heel_back'?
        """
        if not isinstance(findings, Mapping):
            raise HeelnetError(
                "findings must be a mapping of ids to values, such as "
                f"{{'pain_heel_back': True}}; got {type(findings).__name__}"
            )
        out: dict[str, Value] = {}
        for name, raw in findings.items():
            self.check_input_id(name)
            value = self.parse(name, raw)
            if value is not None:
                out[name] = value
        return out


def _several(raw: Any) -> bool:
    """True for a container of values (list, tuple, set, dict, array, Series...)."""
    if isinstance(raw, str | bytes):
        return False
    if isinstance(raw, list | tuple | set | frozenset | dict):
        return True
    return getattr(raw, "ndim", 0) not in (0, None)


def _describe_several(raw: Any) -> str:
    """``a numpy array of 3 values`` and the like."""
    kind = {"ndarray": "numpy array", "Series": "pandas Series",
            "DataFrame": "pandas DataFrame"}.get(type(raw).__name__, type(raw).__name__)
    size = getattr(raw, "size", None)
    if size is None:
        size = len(raw)
    return f"a {kind} of {size} value{'' if size == 1 else 's'}"


def _parse_bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        number = _BOOL_NUMBER.match(text)  # what pandas writes for 1/0 in a column with blanks
        if number:
            return number.group(1) == "1"
    raise InvalidValueError(f"'{name}' must be {BOOL_ACCEPTED}; got {raw!r}")


def _parse_whole(name: str, raw: Any, lo: int, hi: int) -> int:
    value: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str) and _WHOLE.match(raw):
        value = float(raw.strip())
    if value is None or not value.is_integer() or not lo <= value <= hi:
        shown = raw if isinstance(raw, int | float) and not isinstance(raw, bool) else repr(raw)
        raise InvalidValueError(f"'{name}' must be a whole number from {lo} to {hi}; got {shown}.")
    return int(value)
