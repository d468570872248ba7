"""The columns of a table of cases: what each input column is, and the output's columns.

:func:`plan_columns` checks a header once, before any row is read: every column
must be a vocabulary input (a context item or a finding), ``case_id``,
``expected_condition``, ``expected_triage``, ``notes`` or a column the caller
asked to keep. Its errors name the column and the closest valid ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import HeelnetError, UnknownIdError
from .reader import UNREADABLE
from .vocabulary import suggestion

if TYPE_CHECKING:
    from .diagnosis import ModelCore

__all__ = ["CASE_ID", "EXPECTED_CONDITION", "EXPECTED_TRIAGE", "NONE", "P_NONE", "Layout",
           "plan_columns", "probability_columns", "result_columns"]

CASE_ID = "case_id"
EXPECTED_CONDITION = "expected_condition"
EXPECTED_TRIAGE = "expected_triage"
#: The ``expected_condition`` of a case known to have none of the modelled conditions.
NONE = "none"
NOTES = "notes"
#: P(none of the modelled conditions, other causes included | the case's findings).
P_NONE = "p_none"
#: Free-text columns that pass through without being named.
DEFAULT_KEEP = (NOTES, "source")


@dataclass(frozen=True, slots=True)
class Layout:
    """What each column of an input table is, and the columns of the output.

    Attributes
    ----------
    inputs : tuple of str
        Vocabulary ids (context items and findings) present, in input order.
    has_case_id, has_expected_condition, has_expected_triage : bool
    passthrough : tuple of str
        Free-text columns copied to the output untouched.
    output : tuple of str
        The output columns, in order.
    """

    inputs: tuple[str, ...]
    has_case_id: bool
    has_expected_condition: bool
    has_expected_triage: bool
    passthrough: tuple[str, ...]
    output: tuple[str, ...]

    @property
    def has_expected(self) -> bool:
        """True when the table has ``expected_condition`` or ``expected_triage``."""
        return self.has_expected_condition or self.has_expected_triage


def probability_columns(model: ModelCore) -> tuple[str, ...]:
    """The conditions with a ``p_<id>`` output column, in column order: the diagnoses,
    then the other causes (never in ``top1``..``top3``)."""
    return (*model.diagnoses, *model.other_causes)


def result_columns(model: ModelCore, intervals: bool = False) -> tuple[str, ...]:
    """The columns :func:`score` computes, before the copied expected and free-text ones
    (with ``intervals``, ``p_<condition>_low`` and ``_high`` after the ``p_`` columns)."""
    shown = probability_columns(model)
    ranges = (f"p_{c}_{end}" for c in shown for end in ("low", "high"))
    return (
        CASE_ID, "top1", "top1_probability", "top2", "top2_probability",
        "top3", "top3_probability", "triage", "red_flags",
        *(f"p_{c}" for c in shown), P_NONE, *(ranges if intervals else ()),
        "error",
    )


def plan_columns(columns: Sequence[Any], model: ModelCore, keep: Iterable[str] = (),
                 intervals: bool = False) -> Layout:
    """Check the column names of an input table and say what each one is.

    Parameters
    ----------
    columns : sequence
        The header, in order.
    model : ModelCore
    keep : iterable of str
        Extra free-text columns to copy to the output (``notes`` always is).
    intervals : bool
        The output has the interval columns (see :func:`result_columns`).

    Returns
    -------
    Layout

    Raises
    ------
    UnknownIdError
        For a column that is neither a vocabulary input, ``case_id``,
        ``expected_condition``, ``expected_triage``, ``notes`` nor a kept column,
        naming the closest valid ids.
    HeelnetError
        For a duplicated or nameless column, or a kept column that clashes with a
        vocabulary id or an output column.
    """
    vocab = model.vocabulary
    names = [str(c) if isinstance(c, str) else c for c in columns]
    keep = tuple(dict.fromkeys(keep))
    computed = result_columns(model, intervals)
    for name in keep:
        if name in vocab.inputs or (name in computed and name != CASE_ID):
            raise HeelnetError(
                f"--keep '{name}': that is a vocabulary id or an output column, not a free-text "
                "column; keep only columns the model does not read or write"
            )
        if name in (CASE_ID, EXPECTED_CONDITION, EXPECTED_TRIAGE):
            raise HeelnetError(f"--keep '{name}': '{name}' is already copied to the output")
    seen: set[Any] = set()
    for position, name in enumerate(names, start=1):
        if isinstance(name, tuple):
            raise HeelnetError(
                f"column {position} is named {name!r}: the table has a header of several rows "
                "(a MultiIndex); give it one row of names, the vocabulary ids"
            )
        if not isinstance(name, str):
            raise HeelnetError(
                f"column {position} is named {name!r} (of type {type(name).__name__}), not a "
                "string; "
                "name the columns by their vocabulary ids (was the file read without its "
                "header line?)"
            )
        if not name.strip():
            raise HeelnetError(
                f"column {position} has no name; every column needs a header "
                "(is there a stray comma at the end of the header line?)"
            )
        if UNREADABLE.search(name):
            raise HeelnetError(f"column {position} has unreadable bytes (not UTF-8) in its name")
        if name in seen:
            raise HeelnetError(f"column '{name}' appears more than once; give each column once")
        seen.add(name)
    passthrough_ok = (*DEFAULT_KEEP, *keep)
    special = (CASE_ID, EXPECTED_CONDITION, EXPECTED_TRIAGE)
    for name in names:
        if name in vocab.inputs or name in special or name in passthrough_ok:
            continue
        raise _column_error(name, model, (*special, *passthrough_ok))
    passthrough = tuple(n for n in names if n in passthrough_ok)
    expected = tuple(n for n in (EXPECTED_CONDITION, EXPECTED_TRIAGE) if n in names)
    return Layout(
        inputs=tuple(n for n in names if n in vocab.inputs),
        has_case_id=CASE_ID in names,
        has_expected_condition=EXPECTED_CONDITION in names,
        has_expected_triage=EXPECTED_TRIAGE in names,
        passthrough=passthrough,
        output=(*computed, *expected, *passthrough),
    )


def _column_error(name: str, model: ModelCore, extra: Sequence[str]) -> UnknownIdError:
    vocab = model.vocabulary
    if name in vocab:
        answer = EXPECTED_CONDITION if vocab.kind(name) == "condition" else EXPECTED_TRIAGE
        return UnknownIdError(
            f"column '{name}' is a {vocab.kind(name)}, not a finding or context item; "
            f"give only what is known about the patient (the answer goes in '{answer}')"
        )
    for mark, what in ((";", "semicolons (;)"), ("\t", "tabs")):
        if mark in name:
            return UnknownIdError(
                f"unknown column '{name[:60]}'{'...' if len(name) > 60 else ''}: the header "
                f"looks separated by {what}, but cases are read as comma-separated values; "
                "save the file as CSV with commas (in Excel: 'CSV UTF-8 (Comma delimited)'; "
                "in pandas: to_csv() with the default sep=',')"
            )
    return UnknownIdError(
        f"unknown column '{name}'{suggestion(name, [*vocab.inputs, *extra])}; columns are "
        "context and finding ids from the vocabulary, case_id, expected_condition, "
        "expected_triage and notes (pass other free-text columns through with --keep)"
    )


