"""One wording for every bad parameter of a function (not a vocabulary value).

After scikit-learn's ``validate_parameter_constraints``: a parameter is checked
against a constraint that can describe itself, and the error names the
parameter, its owner, what it must be and what it got::

    The 'step' parameter of sensitivity must be a float in the range (0, 1); got 2.

Values given by a patient record (findings, ages) are checked by
:mod:`model.vocabulary` instead, with their own messages.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .errors import HeelnetError, UnknownIdError
from .vocabulary import suggestion

__all__ = ["Interval", "Options", "check_ids", "check_parameter"]


@dataclass(frozen=True)
class Interval:
    """A whole number (``kind=int``) or a real number (``kind=float``) in a range.

    ``closed`` says which ends belong to it: ``"both"``, ``"left"``, ``"right"`` or
    ``"neither"``; an end of ``None`` is unbounded.
    """

    kind: type
    low: float | None
    high: float | None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        """True when ``value`` is of the right kind and in the range."""
        if isinstance(value, bool):
            return False
        if self.kind is int and not isinstance(value, numbers.Integral):
            return False
        if not isinstance(value, numbers.Real) or math.isnan(value):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.low is not None and (value < self.low or (value == self.low and not left)):
            return False
        return not (self.high is not None
                    and (value > self.high or (value == self.high and not right)))

    def __str__(self) -> str:
        name = "a whole number" if self.kind is int else "a number"
        left = "[" if self.closed in ("both", "left") and self.low is not None else "("
        right = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{name} in the range {left}{low}, {high}{right}"


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values."""

    values: tuple[Any, ...]

    def __init__(self, values: Iterable[Any]) -> None:
        object.__setattr__(self, "values", tuple(values))

    def accepts(self, value: Any) -> bool:
        """True when ``value`` is one of the options."""
        try:
            return value in self.values
        except TypeError:  # unhashable or incomparable
            return False

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


def check_parameter(owner: str, name: str, value: Any, constraint: Interval | Options, *,
                    allow_none: bool = False) -> Any:
    """Return ``value`` if it meets ``constraint``, else raise one clear error.

    Raises
    ------
    HeelnetError
        ``The '<name>' parameter of <owner> must be <constraint>; got <value>.``

    Examples
    --------
    >>> check_parameter("sensitivity", "step", 0.1, Interval(float, 0, 1, "neither"))
    0.1
    >>> check_parameter("sensitivity", "step", 2, Interval(float, 0, 1, "neither"))
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.errors.HeelnetError: The 'step' parameter of sensitivity must be a number ...; got 2.
    """
    if (value is None and allow_none) or constraint.accepts(value):
        return value
    also = " or None" if allow_none else ""
    raise HeelnetError(
        f"The '{name}' parameter of {owner} must be {constraint}{also}; got {value!r}."
    )


def check_ids(owner: str, name: str, given: Iterable[str], valid: Iterable[str], what: str
              ) -> list[str]:
    """Return ``given`` as a list if every id is in ``valid``; else name the first unknown
    one and the closest valid ids.

    Examples
    --------
    >>> check_ids("explain", "conditions", ["gout"], ["gout", "cellulitis"], "condition")
    ['gout']
    >>> check_ids("explain", "conditions", ["gaut"], ["gout", "cellulitis"], "condition")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.errors.UnknownIdError: The 'conditions' parameter ... 'gaut'; did you mean 'gout'?
    """
    pool = list(valid)
    out = list(given)
    for item in out:
        if item not in pool:
            raise UnknownIdError(f"The '{name}' parameter of {owner} names an unknown {what} "
                                 f"{item!r}{suggestion(str(item), pool)}")
    return out
