"""Priors files and parameters-table rows, both turned into *records*.

A record is one number as a dict keyed by the columns of the parameters table,
with where it came from (``_where``: file and line, or table row). :data:`FILES`
is the one place that says which CSV column is which parameters-table column;
both :func:`csv_records` and :func:`table_records` read it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..vocabulary import is_blank
from .base import SOURCE_KINDS, PriorsError
from .ranges import resolve

__all__ = ["FILES", "PARAMETER_COLUMNS", "PriorsFile", "Recorder", "csv_records",
           "table_records"]

_SOURCE_COLUMNS = ("source_kind", "source", "derivation")
#: Columns any priors file may have; a file without one reads as blank.
OPTIONAL_COLUMNS = ("low", "high", "link_source")


@dataclass(frozen=True, slots=True)
class PriorsFile:
    """How one CSV file of ``priors/`` maps onto the columns of the parameters table.

    ``columns`` maps each key column of the file to its parameters-table column, in
    file order; the number is in ``number`` (``value``, or ``threshold`` for triage).
    ``tables`` are the parameters-table names its rows become. ``optional`` key
    columns may be left out of the file (they read as blank).
    """

    name: str
    tables: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    number: str = "value"
    optional: tuple[str, ...] = ()


#: The files of ``priors/`` (besides ``vocabulary.csv``), in the order they are read.
FILES: tuple[PriorsFile, ...] = (
    PriorsFile("context.csv", ("context_prior", "context_risk_ratio"),
               (("node", "node"), ("state", "state"), ("parent", "parent"),
                ("parent_state", "parent_state")), optional=("parent", "parent_state")),
    PriorsFile("conditions.csv", ("condition_prior", "risk_ratio"),
               (("condition", "node"), ("parent", "parent"), ("state", "parent_state"))),
    PriorsFile("likelihoods.csv", ("likelihood",), (("finding", "node"), ("condition", "parent"))),
    PriorsFile("leaks.csv", ("leak",), (("finding", "node"),)),
    PriorsFile("triage.csv", ("triage_rule",),
               (("rule", "rule"), ("level", "level"), ("findings", "findings"),
                ("context", "context"), ("condition", "node"), ("wording", "wording")),
               number="threshold", optional=("context",)),
)

#: The columns of :meth:`KnowledgeBase.parameters`, in order.
PARAMETER_COLUMNS = (
    "table", "node", "state", "parent", "parent_state", "parents", "rule", "level",
    "findings", "context", "wording", "value", "low", "high", "range_rule", "source_kind",
    "source", "link_source", "derivation", "file", "line",
)
#: Columns a parameters table may leave out.
_TABLE_OPTIONAL = ("range_rule", "file", "line")


def csv_records(text: str, spec: PriorsFile, where: str) -> list[dict[str, Any]]:
    """The rows of one priors CSV as records keyed by parameters-table columns."""
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    needed = [*(c for c, _ in spec.columns if c not in spec.optional), spec.number,
              *_SOURCE_COLUMNS]
    missing = [c for c in needed if c not in header]
    if missing:
        raise PriorsError(f"{where}: missing column(s) {', '.join(missing)}")
    records, line = [], 2
    for row in reader:
        if None in row:
            raise PriorsError(f"{where}, line {line}: more cells than the header has columns")
        record = {column: (row.get(csv_column) or "").strip()
                  for csv_column, column in spec.columns}
        record |= {c: (row.get(c) or "").strip() for c in (*_SOURCE_COLUMNS, *OPTIONAL_COLUMNS)}
        record |= {"value": (row[spec.number] or "").strip(), "_file": where, "_line": line,
                   "_where": f"{where}, line {line}"}
        records.append(record)
        line = reader.line_num + 1
    return records


def table_records(table: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """The rows of a (possibly edited) parameters table as records, by file."""
    if not isinstance(table, pd.DataFrame):
        raise PriorsError(f"expected the DataFrame from parameters(); got {type(table).__name__}")
    needed = [c for c in PARAMETER_COLUMNS if c not in _TABLE_OPTIONAL]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise PriorsError(f"parameters table: missing column(s) {', '.join(missing)}")
    file_of = {t: spec for spec in FILES for t in spec.tables}
    out: dict[str, list[dict[str, Any]]] = {spec.name: [] for spec in FILES}
    for i, rec in enumerate(table.to_dict("records")):
        origin = ("" if is_blank(rec.get("file"))
                  else f" (from {rec['file']}, line {rec.get('line')})")
        where = f"parameters table, row {i}{origin}"
        spec = file_of.get(rec["table"])
        if spec is None:
            raise PriorsError(
                f"{where}: table must be one of {', '.join(file_of)}; got {rec['table']!r}"
            )
        record = {c: "" if is_blank(rec.get(c)) else str(rec[c]).strip()
                  for _, c in spec.columns}
        record |= {c: "" if is_blank(rec.get(c)) else str(rec[c]).strip()
                   for c in (*_SOURCE_COLUMNS, *OPTIONAL_COLUMNS)}
        if not is_blank(rec.get("range_rule")):  # a rule's range follows the (edited) value
            record["low"] = record["high"] = ""
        record |= {"value": "" if is_blank(rec.get("value")) else rec["value"],
                   "_file": "" if is_blank(rec.get("file")) else rec["file"],
                   "_line": rec.get("line"), "_where": where}
        prior_of = {"condition_prior": "risk_ratio", "context_prior": "context_risk_ratio"}
        if rec["table"] in prior_of and record["parent"]:
            raise PriorsError(f"{where}: a {rec['table']} row has no parent; use table "
                              f"'{prior_of[rec['table']]}' for a row with a parent")
        out[spec.name].append(record)
    return out


class Recorder:
    """Collects the checked rows of :meth:`KnowledgeBase.parameters`."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, row: Mapping[str, Any], table: str, value: float, *, parents: str,
            many_state: bool = False, **columns: str) -> None:
        kind = row.get("source_kind", "")
        if kind not in SOURCE_KINDS:
            raise PriorsError(
                f"{row['_where']}: source_kind must be one of {', '.join(SOURCE_KINDS)}; "
                f"got {kind!r}"
            )
        if not row.get("source"):
            raise PriorsError(f"{row['_where']}: source is empty; every number needs its source")
        low, high, rule = resolve(row, table, value, many_state=many_state)
        record = dict.fromkeys(PARAMETER_COLUMNS, "")
        record |= columns
        record |= {"table": table, "parents": parents, "value": value, "source_kind": kind,
                   "source": row["source"], "link_source": row.get("link_source", ""),
                   "derivation": row.get("derivation", ""), "low": low, "high": high,
                   "range_rule": rule, "file": row["_file"], "line": row["_line"]}
        self.rows.append(record)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame.from_records(self.rows, columns=list(PARAMETER_COLUMNS))


