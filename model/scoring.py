"""Batch scoring: a table of cases in, one row of posteriors and triage per case out.

:func:`score` takes a DataFrame; :func:`score_csv` streams a CSV file of any
length to an output CSV. Both follow ``shared/contract/README.md``: one output
row per input row, in the same order, with the same ``case_id``; a row that cannot
be read gets its message in ``error`` and every other row is still scored; a
problem with the whole table (an unknown or duplicated column, an empty file) is
one :class:`~model.vocabulary.HeelnetError` naming the column and the closest
valid ids.

How it stays fast on a million rows: values are parsed per *distinct* value of a
column (``yes``, ``No``, ``41``...) with :meth:`Vocabulary.parse`, so the messages
are the vocabulary's own, then mapped onto the column with :func:`pandas.factorize`;
cases go to :meth:`Model.infer` and :class:`~model.triage.TriageRules` a chunk at a
time; only one chunk is ever held in memory. The CSV is read with the standard
library's ``csv`` module rather than ``pandas.read_csv`` so that a line with the
wrong number of cells or bytes that are not UTF-8 becomes an error *row* (the
line is decoded with ``surrogateescape`` and checked) instead of stopping the file.
The output is written to a temporary file beside the target and renamed over it
only when complete, so an old output is never left half-overwritten.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from .diagnosis import Model
from .knowledge import AGE_INPUT, AGE_NODE
from .vocabulary import HeelnetError, InvalidValueError, UnknownIdError, is_blank, suggestion

__all__ = [
    "CASE_ID",
    "EXPECTED_CONDITION",
    "EXPECTED_TRIAGE",
    "Layout",
    "iter_scored",
    "plan_columns",
    "read_csv_chunks",
    "score",
    "score_csv",
    "write_atomic",
]

CASE_ID = "case_id"
EXPECTED_CONDITION = "expected_condition"
EXPECTED_TRIAGE = "expected_triage"
NOTES = "notes"
#: Free-text columns that pass through without being named.
DEFAULT_KEEP = (NOTES, "source")  # free text that always passes through untouched
CHUNK_SIZE = 5000
_SURROGATE = re.compile("[\udc80-\udcff]")


# ----------------------------------------------------------------------------- columns


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


def result_columns(model: Model) -> tuple[str, ...]:
    """The columns :func:`score` computes, before the copied expected and free-text ones."""
    return (
        CASE_ID, "top1", "top1_probability", "top2", "top2_probability",
        "top3", "top3_probability", "triage", "red_flags",
        *(f"p_{c}" for c in model.conditions), "error",
    )


def plan_columns(columns: Sequence[Any], model: Model, keep: Iterable[str] = ()) -> Layout:
    """Check the column names of an input table and say what each one is.

    Parameters
    ----------
    columns : sequence
        The header, in order.
    model : Model
    keep : iterable of str
        Extra free-text columns to copy to the output (``notes`` always is).

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
    computed = result_columns(model)
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
        if not isinstance(name, str) or not name.strip():
            raise HeelnetError(
                f"column {position} has no name; every column needs a header "
                "(is there a stray comma at the end of the header line?)"
            )
        if _SURROGATE.search(name):
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


def _column_error(name: str, model: Model, extra: Sequence[str]) -> UnknownIdError:
    vocab = model.vocabulary
    if name in vocab:
        answer = EXPECTED_CONDITION if vocab.kind(name) == "condition" else EXPECTED_TRIAGE
        return UnknownIdError(
            f"column '{name}' is a {vocab.kind(name)}, not a finding or context item; "
            f"give only what is known about the patient (the answer goes in '{answer}')"
        )
    return UnknownIdError(
        f"unknown column '{name}'{suggestion(name, [*vocab.inputs, *extra])}; columns are "
        "context and finding ids from the vocabulary, case_id, expected_condition, "
        "expected_triage and notes (pass other free-text columns through with --keep)"
    )


# ----------------------------------------------------------------------------- values


class _Parser:
    """Column parsers: distinct raw values -> engine codes or error messages, cached."""

    def __init__(self, model: Model) -> None:
        self.model = model
        kb = model.knowledge
        self.vocab = model.vocabulary
        self.f_index = {f: i for i, f in enumerate(model.findings)}
        self.c_index = {n: i for i, n in enumerate(model.context_nodes)}
        self.cond_index = {c: i for i, c in enumerate(model.conditions)}
        self.levels = tuple(model.triage_rules.levels)
        self._kb = kb
        self._cache: dict[str, dict[Any, tuple[Any, str]]] = {}

    def _code(self, name: str, raw: Any) -> tuple[Any, str]:
        """Engine code of one raw value of an input column (-1 not asked) and its error."""
        try:
            value = self.vocab.parse(name, raw)
        except InvalidValueError as error:
            return -1, str(error).rstrip(".")  # messages are "; "-joined
        if value is None:
            return -1, ""
        return self.model.code(name, value), ""

    def _expected_condition(self, raw: Any) -> tuple[Any, str]:
        """Indices of the conditions in an ``expected_condition`` cell, and its error."""
        if is_blank(raw):
            return (), ""
        found = []
        for part in str(raw).split("|"):
            cond = part.strip()
            if cond not in self.cond_index:
                return (), (
                    f"expected_condition: unknown condition '{cond}'"
                    f"{suggestion(cond, self.model.conditions)}"
                )
            found.append(self.cond_index[cond])
        return tuple(found), ""

    def _expected_triage(self, raw: Any) -> tuple[Any, str]:
        if is_blank(raw):
            return -1, ""
        level = str(raw).strip().lower()
        if level in self.levels:
            return self.levels.index(level), ""
        return -1, f"expected_triage must be {' or '.join(self.levels)}; got {raw!r}"

    def column(self, name: str, values: pd.Series, kind: str = "input"
               ) -> tuple[np.ndarray, np.ndarray | None]:
        """Codes for a whole column and, if any cell is bad, an array of messages."""
        convert: Callable[[Any], tuple[Any, str]] = {
            "input": lambda raw: self._code(name, raw),
            "expected_condition": self._expected_condition,
            "expected_triage": self._expected_triage,
        }[kind]
        cache = self._cache.setdefault(f"{kind}:{name}", {})
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        parsed = []
        for raw in uniques:
            if isinstance(raw, np.generic):  # numpy scalars from typed columns
                raw = raw.item()
            key = (type(raw), raw)
            if key not in cache:
                cache[key] = convert(raw)
            parsed.append(cache[key])
        blank = convert(None)
        parsed.append(blank)  # code -1 (NaN, None, NA) indexes the last entry
        mapped = np.empty(len(parsed), dtype=object)
        mapped[:] = [p[0] for p in parsed]
        messages = np.array([p[1] for p in parsed], dtype=object)
        bad = messages[codes]
        return mapped[codes], (bad if (messages != "").any() else None)


def _add_errors(errors: np.ndarray, new: np.ndarray) -> None:
    """Append the non-empty messages of ``new`` to ``errors`` (in place), "; "-joined."""
    mask = new != ""
    if not mask.any():
        return
    both = mask & (errors != "")
    errors[both] = errors[both] + "; "
    errors[mask] = errors[mask] + new[mask]


# ----------------------------------------------------------------------------- scoring


class _Scorer:
    """Scores chunks of an input table laid out by :func:`plan_columns`."""

    def __init__(self, model: Model, layout: Layout) -> None:
        self.model = model
        self.layout = layout
        self.parser = _Parser(model)
        self.levels = tuple(model.triage_rules.levels)

    def red_flags(self, fired: np.ndarray) -> np.ndarray:
        """The "; "-joined wordings of the fired rules, most urgent first, per case."""
        out = np.empty(len(fired), dtype=object)
        out[:] = ["; ".join(flags) for flags in self.model.triage_rules.red_flags(fired)]
        return out

    def chunk(self, frame: pd.DataFrame, first_row: int, pre_errors: np.ndarray | None = None
              ) -> pd.DataFrame:
        """Score one chunk; ``first_row`` numbers rows (from 1) when there is no case_id."""
        model, layout, parser = self.model, self.layout, self.parser
        n = len(frame)
        errors = np.full(n, "", dtype=object)
        if pre_errors is not None:
            _add_errors(errors, pre_errors)
        context = np.full((n, len(model.context_nodes)), -1, dtype=np.int64)
        findings = np.full((n, len(model.findings)), -1, dtype=np.int8)
        for name in layout.inputs:
            codes, bad = parser.column(name, frame[name])
            if bad is not None:
                _add_errors(errors, bad)
            if name in parser.f_index:
                findings[:, parser.f_index[name]] = codes.astype(np.int8)
            else:
                node = AGE_NODE if name == AGE_INPUT else name
                context[:, parser.c_index[node]] = codes.astype(np.int64)
        for kind in (EXPECTED_CONDITION, EXPECTED_TRIAGE):
            if kind in frame.columns:
                _, bad = parser.column(kind, frame[kind], kind=kind)
                if bad is not None:
                    _add_errors(errors, bad)
        ok = errors == ""
        probs = np.full((n, len(model.conditions)), np.nan)
        triage = np.full(n, "", dtype=object)
        flags = np.full(n, "", dtype=object)
        if ok.any():
            p = np.asarray(model.infer(context[ok], findings[ok]), dtype=float)
            fired = model.triage_rules.fired(findings[ok], p)
            probs[ok] = p
            triage[ok] = np.asarray(self.levels, dtype=object)[
                model.triage_rules.levels_of(fired)
            ]
            flags[ok] = self.red_flags(fired)
        return self._output(frame, first_row, probs, ok, triage, flags, errors)

    def _output(self, frame: pd.DataFrame, first_row: int, probs: np.ndarray, ok: np.ndarray,
                triage: np.ndarray, flags: np.ndarray, errors: np.ndarray) -> pd.DataFrame:
        model, layout = self.model, self.layout
        n = len(frame)
        if layout.has_case_id:
            case_id = frame[CASE_ID].to_numpy()
        else:
            case_id = np.arange(first_row, first_row + n)
        data: dict[str, Any] = {CASE_ID: case_id}
        names = np.asarray(model.conditions, dtype=object)
        order = np.argsort(-np.nan_to_num(probs, nan=-1.0), axis=1, kind="stable")
        rows = np.arange(n)
        for k in range(3):
            top = np.full(n, "", dtype=object)
            top_p = np.full(n, np.nan)
            if k < len(names):
                top[ok] = names[order[ok, k]]
                top_p[ok] = probs[rows[ok], order[ok, k]]
            data[f"top{k + 1}"] = top
            data[f"top{k + 1}_probability"] = top_p
        data["triage"] = triage
        data["red_flags"] = flags
        for j, cond in enumerate(model.conditions):
            data[f"p_{cond}"] = probs[:, j]
        data["error"] = errors
        for name in layout.output[len(data):]:
            data[name] = frame[name].to_numpy()
        return pd.DataFrame(data, index=frame.index, columns=list(layout.output))


def score(cases: pd.DataFrame, model: Model | None = None, *, keep: Iterable[str] = (),
          chunk_size: int = CHUNK_SIZE) -> pd.DataFrame:
    """Score a table of cases: ranked posteriors and triage, one output row per case.

    Parameters
    ----------
    cases : pandas.DataFrame
        One row per case; columns are context and finding ids (blank, None or NaN
        means not asked), plus optional ``case_id``, ``expected_condition`` (ids
        joined by ``|``), ``expected_triage`` and ``notes``.
    model : Model, optional
        The bundled model by default.
    keep : iterable of str
        Other free-text columns to copy to the output untouched.
    chunk_size : int
        Cases given to the inference engine at a time.

    Returns
    -------
    pandas.DataFrame
        Same index and order as ``cases``. Columns ``case_id`` (row numbers from 1
        when the input has none), ``top1``..``top3`` with their probabilities,
        ``triage``, ``red_flags`` ("; "-joined), ``p_<condition>`` for every
        condition, ``error`` (empty when scored), then the expected and free-text
        columns as given. A row with a bad value is not scored: its message is in
        ``error``.

    Raises
    ------
    HeelnetError
        For a problem with the table itself: an unknown column (with the closest
        valid ids), a duplicated column, or something that is not a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> from model.scoring import score
    >>> cases = pd.DataFrame({"age_years": [11, 250], "pain_heel_back": ["yes", "yes"],
    ...                       "heel_squeeze_tender": ["yes", "no"]})
    >>> out = score(cases)
    >>> out.loc[0, "top1"], out.loc[0, "error"]
    ('severs_disease', '')
    >>> out.loc[1, "error"]
    "'age_years' must be a whole number from 0 to 120; got 250"
    """
    if not isinstance(cases, pd.DataFrame):
        raise HeelnetError(
            f"cases must be a pandas DataFrame with one row per case; got {type(cases).__name__}"
        )
    model = model or Model.default()
    layout = plan_columns(list(cases.columns), model, keep)
    scorer = _Scorer(model, layout)
    parts = [
        scorer.chunk(cases.iloc[start:start + chunk_size], start + 1)
        for start in range(0, len(cases), chunk_size)
    ]
    if not parts:
        return pd.DataFrame(columns=list(layout.output), index=cases.index)
    return pd.concat(parts)


# ----------------------------------------------------------------------------- CSV files


def _lines(handle: TextIO, bad: set[int]) -> Iterator[str]:
    """The lines of ``handle``, noting the numbers of those with undecodable bytes."""
    for number, line in enumerate(handle, start=1):
        if not line.isascii() and _SURROGATE.search(line):
            bad.add(number)
        yield line


def _clean(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text)


def read_csv_chunks(path: str | os.PathLike[str], model: Model, keep: Iterable[str] = (),
                    chunk_size: int = CHUNK_SIZE
                    ) -> tuple[Layout, _Chunks]:
    """Open a case CSV: check its header now, then yield its rows chunk by chunk.

    Every cell is read as text (``""`` = not asked). Blank lines are skipped. A
    line with the wrong number of cells or with bytes that are not UTF-8 still
    yields a row, with a message in the accompanying array of per-row errors.

    Returns
    -------
    layout : Layout
    chunks : iterator of (DataFrame, ndarray of str)
        The rows as text, and the per-row reading errors (``""`` when fine).

    Raises
    ------
    OSError
        When the file cannot be opened.
    HeelnetError
        For an empty file, or a header :func:`plan_columns` rejects.
    """
    name = os.fspath(path)
    handle = open(name, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
    try:
        bad: set[int] = set()
        reader = csv.reader(_lines(handle, bad))
        header = next((row for row in reader if any(c.strip() for c in row)), None)
        if header is None:
            raise HeelnetError(f"'{name}' is empty: expected a header line and one row per case")
        if bad:
            raise HeelnetError(f"'{name}': the header line has unreadable bytes (not UTF-8)")
        layout = plan_columns(header, model, keep)
    except BaseException:
        handle.close()
        raise
    return layout, _Chunks(handle, reader, header, bad, chunk_size)


class _Chunks:
    """The rows of an open case CSV, chunk by chunk; closes the file when done."""

    def __init__(self, handle: TextIO, reader: Any, header: list[str], bad: set[int],
                 chunk_size: int) -> None:
        self.handle, self.reader, self.header = handle, reader, header
        self.bad, self.chunk_size = bad, chunk_size
        self.rows_read = 0

    def close(self) -> None:
        """Close the file."""
        self.handle.close()

    def __iter__(self) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        with self.handle:
            for frame, errors in _chunks(self.reader, self.header, self.bad, self.chunk_size):
                self.rows_read += len(frame)
                yield frame, errors


def _chunks(reader: Any, header: list[str], bad: set[int], chunk_size: int
            ) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
    width = len(header)
    rows: list[list[str]] = []
    errors: list[str] = []
    last_line = reader.line_num
    for row in reader:
        first_line, last_line = last_line + 1, reader.line_num
        if not row or (len(row) == 1 and not row[0].strip() and width > 1):
            continue  # a blank line is not a case
        message = ""
        if len(row) != width:
            message = (f"line {first_line} has {len(row)} cells but the header has "
                       f"{width} columns; the row was not read")
            row = (row + [""] * width)[:width] if len(row) < width else row[:width]
        if bad and any(n in bad for n in range(first_line, last_line + 1)):
            where = [h for h, cell in zip(header, row) if _SURROGATE.search(cell)]
            row = [_clean(cell) for cell in row]
            cells = ", ".join(f"'{h}'" for h in where) or "a cell"
            message = "; ".join(filter(None, [
                message, f"line {first_line}: unreadable bytes (not UTF-8) in column {cells}"
            ]))
        rows.append(row)
        errors.append(message)
        if len(rows) >= chunk_size:
            yield pd.DataFrame(rows, columns=header, dtype=object), np.array(errors, object)
            rows, errors = [], []
    if rows:
        yield pd.DataFrame(rows, columns=header, dtype=object), np.array(errors, object)


def count_lines(path: str | os.PathLike[str]) -> int:
    """Lines in a file (fast, in binary): the progress bar's estimate of its rows."""
    lines = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
    return lines


def write_atomic(path: str | os.PathLike[str], write: Callable[[TextIO], None]) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it over ``path``.

    If ``write`` raises, the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"cannot write '{target}': it is a folder")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write '{target}': folder '{folder}' does not exist")
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                                 dir=folder)
    except OSError as error:
        raise OSError(error.errno, f"cannot write there ({error.strerror})", str(target)) from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            write(handle)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes files private; use the usual mode
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def iter_scored(source: str | os.PathLike[str], model: Model | None = None, *,
                keep: Iterable[str] = (), chunk_size: int = CHUNK_SIZE
                ) -> tuple[Layout, Iterator[pd.DataFrame]]:
    """Score a case CSV chunk by chunk, without writing it anywhere.

    The header is checked at once (errors are raised here); the rows are read and
    scored as the returned iterator is consumed. An input with a header but no
    cases raises :class:`HeelnetError` when the iterator ends.
    """
    model = model or Model.default()
    layout, chunks = read_csv_chunks(source, model, keep, chunk_size)
    scorer = _Scorer(model, layout)

    def scored() -> Iterator[pd.DataFrame]:
        first = 1
        try:
            for frame, errors in chunks:
                yield scorer.chunk(frame, first, errors)
                first += len(frame)
        finally:
            chunks.close()
        if first == 1:
            raise HeelnetError(f"'{os.fspath(source)}' has a header but no cases")

    return layout, scored()


def _write_rows(frame: pd.DataFrame, handle: TextIO) -> None:
    """Append ``frame`` to a CSV without its header: pyarrow's C++ writer, which keeps
    full float precision and is ~10x faster than ``DataFrame.to_csv`` on wide tables."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = io.BytesIO()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False))
    handle.write(sink.getvalue().decode("utf-8"))


def score_csv(source: str | os.PathLike[str], target: str | os.PathLike[str],
              model: Model | None = None, *, keep: Iterable[str] = (),
              chunk_size: int = CHUNK_SIZE,
              on_chunk: Callable[[pd.DataFrame], None] | None = None) -> Layout:
    """Score a case CSV into an output CSV, streaming; see :func:`score` for the columns.

    Parameters
    ----------
    source, target : path
        Input and output files; ``target`` is replaced only once complete (it may
        be the input itself).
    model : Model, optional
    keep : iterable of str
        Extra free-text columns to copy.
    chunk_size : int
        Rows read, scored and written at a time.
    on_chunk : callable, optional
        Called with each scored chunk (for metrics and progress).

    Returns
    -------
    Layout
        What the input columns were.

    Raises
    ------
    OSError
        When the input cannot be read or the output cannot be written.
    HeelnetError
        For an empty file or a bad header (the output is then not touched).
    """
    layout, chunks = iter_scored(source, model, keep=keep, chunk_size=chunk_size)

    def write(handle: TextIO) -> None:
        csv.writer(handle, lineterminator="\n").writerow(layout.output)
        for out in chunks:
            if on_chunk is not None:
                on_chunk(out)
            _write_rows(out, handle)

    try:
        write_atomic(target, write)
    finally:
        chunks.close()
    return layout
