"""Batch scoring: a table of cases in, one row of posteriors and triage per case out.

:func:`score` takes a DataFrame; :func:`score_csv` streams a CSV file of any
length to an output CSV. Both follow ``shared/contract/README.md``: one output
row per input row, in the same order, with the same ``case_id``; a row that cannot
be read gets its message in ``error`` and every other row is still scored; a
problem with the whole table (an unknown or duplicated column, an empty file) is
one :class:`~model.vocabulary.HeelnetError` naming the column and the closest
valid ids.

How it stays fast on a million rows: a column is parsed per *distinct* value
(``yes``, ``No``, ``41``...) by :meth:`Encoding.column`, so the messages are the
vocabulary's own; cases go to the engine and :class:`~model.triage.TriageRules` a
chunk at a time; the top three are three ``argmax`` passes, and each distinct
pattern of fired triage rules is worded once. Besides the output of
:func:`score`, only one chunk is held in memory. Files are read by
:mod:`model.reader` (a record that cannot be read whole becomes an error *row*
naming its line) and written through :mod:`model.files` (an old output is never
left half-overwritten).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

import numpy as np
import pandas as pd

from .cells import Expected, add_errors, encode_column, top_k
from .checks import Interval, check_parameter
from .columns import (
    CASE_ID,
    EXPECTED_CONDITION,
    EXPECTED_TRIAGE,
    P_NONE,
    Layout,
    plan_columns,
    probability_columns,
)
from .diagnosis import ModelCore
from .errors import HeelnetError
from .files import CsvRows, read_csv, write_atomic, write_rows
from .progress import bar
from .uncertainty import DRAWS, SEED, posterior_intervals

__all__ = ["CHUNK_SIZE", "Scorer", "iter_scored", "score", "score_csv", "score_partition"]

#: Rows read, scored and written at a time.
CHUNK_SIZE = 5000


# ----------------------------------------------------------------------------- scoring


class Scorer:
    """Scores chunks of an input table laid out by :func:`plan_columns`.

    :meth:`chunk` is :meth:`encode` (parse every cell, collect each row's errors)
    then :meth:`finish` (infer, triage, lay out the output). A tool that changes
    the evidence in between (the interview replay) subclasses it and passes the
    subclass as ``scorer`` to :func:`score`, :func:`iter_scored` or :func:`score_csv`;
    ``layout.output`` is then the columns it writes. A chunk may be a whole table:
    columns are parsed whole and the engine is run :attr:`batch` cases at a time.
    """

    #: Cases given to the engine (and to the interval draws) at a time.
    batch: int = CHUNK_SIZE

    def __init__(self, model: ModelCore, layout: Layout,
                 intervals: tuple[int, int] | None = None) -> None:
        self.model = model
        self.layout = layout
        self.intervals = intervals  # (draws, seed), or None
        self.expected = Expected(model)
        self.levels = np.asarray(model.triage_rules.levels, dtype=object)
        self.finding_index = {f: j for j, f in enumerate(model.findings)}
        self.context_index = {x: j for j, x in enumerate(model.context_nodes)}

    def red_flags(self, fired: np.ndarray) -> np.ndarray:
        """The "; "-joined wordings of the fired rules, most urgent first, per case.

        Cases share few patterns of fired rules: each distinct pattern is worded once
        and mapped back by a hash of its bits.
        """
        n_rules = fired.shape[1]
        if n_rules > 62 or not len(fired):
            patterns, codes = fired, np.arange(len(fired))
        else:
            keys = fired.astype(np.int64) @ (np.int64(1) << np.arange(n_rules, dtype=np.int64))
            codes, uniques = pd.factorize(keys)
            patterns = ((uniques[:, None] >> np.arange(n_rules)) & 1).astype(bool)
        worded = ["; ".join(flags) for flags in self.model.triage_rules.red_flags(patterns)]
        out = np.empty(len(worded), dtype=object)
        out[:] = worded
        return out[codes]

    def chunk(self, frame: pd.DataFrame, first_row: int, pre_errors: np.ndarray | None = None
              ) -> pd.DataFrame:
        """Score one chunk; ``first_row`` numbers rows (from 1) when there is no case_id."""
        return self.finish(frame, first_row, *self.encode(frame, pre_errors))

    def encode(self, frame: pd.DataFrame, pre_errors: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Engine arrays ``(context, findings)`` of a chunk and each row's error ("" if none)."""
        model, layout, encoding = self.model, self.layout, self.model.encoding
        n = len(frame)
        errors = np.full(n, "", dtype=object)
        if pre_errors is not None:
            add_errors(errors, pre_errors)
        context = np.full((n, len(model.context_nodes)), -1, dtype=np.int64)
        findings = np.full((n, len(model.findings)), -1, dtype=np.int8)
        for name in layout.inputs:
            codes, bad = encode_column(model, name, frame[name])
            if bad is not None:
                add_errors(errors, bad)
            if name in self.finding_index:
                findings[:, self.finding_index[name]] = codes
            else:
                context[:, self.context_index[encoding.node_of(name)]] = codes
        for column in (EXPECTED_CONDITION, EXPECTED_TRIAGE):
            if column in frame.columns:
                bad = self.expected.errors(column, frame[column])
                if bad is not None:
                    add_errors(errors, bad)
        return context, findings, errors

    def finish(self, frame: pd.DataFrame, first_row: int, context: np.ndarray,
               findings: np.ndarray, errors: np.ndarray) -> pd.DataFrame:
        """The output rows of encoded cases: rows without an error are inferred and triaged."""
        model, n = self.model, len(frame)
        ok = errors == ""
        probs = np.full((n, len(model.conditions)), np.nan)
        none = np.full(n, np.nan)
        ranges = np.full((2, n, len(model.conditions)), np.nan) if self.intervals else None
        triage = np.full(n, "", dtype=object)
        flags = np.full(n, "", dtype=object)
        if ok.any():
            rows = np.flatnonzero(ok)
            p, p_none, fired, r, possible = self.infer(context[ok], findings[ok])
            for row in rows[~possible]:  # evidence of probability 0 under the model
                errors[row] = str(model.impossible(context[row], findings[row]))
            ok[rows[~possible]] = False
            rows = rows[possible]
            probs[rows], none[rows] = p[possible], p_none[possible]
            if ranges is not None:
                ranges[:, rows] = r[:, possible]
            triage[rows] = self.levels[model.triage_rules.levels_of(fired[possible])]
            flags[rows] = self.red_flags(fired[possible])
        return self._output(frame, first_row, (probs, none), ok, triage, flags, errors, ranges)

    def infer(self, context: np.ndarray, findings: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """Posteriors, P(none of the conditions), fired triage rules, intervals (if asked)
        and whether each case's evidence is possible at all, :attr:`batch` cases at a time."""
        model, rules, n = self.model, self.model.triage_rules, len(context)
        probs = np.empty((n, len(model.conditions)))
        none = np.empty(n)
        possible = np.empty(n, dtype=bool)
        fired = np.empty((n, len(rules.rules)), dtype=bool)
        ranges = np.empty((2, n, len(model.conditions))) if self.intervals else None
        for start in range(0, n, self.batch):
            part = slice(start, start + self.batch)
            probs[part], none[part], log_z = model.infer_all(context[part], findings[part])
            possible[part] = np.isfinite(log_z)
            if ranges is not None:
                draws, seed = self.intervals  # type: ignore[misc]
                ranges[:, part] = posterior_intervals(model, context[part], findings[part],
                                                      draws=draws, seed=seed)
            fired[part] = rules.fired(findings[part], probs[part], context[part])
        return probs, none, fired, ranges, possible

    def _output(self, frame: pd.DataFrame, first_row: int,
                posteriors: tuple[np.ndarray, np.ndarray], ok: np.ndarray,
                triage: np.ndarray, flags: np.ndarray, errors: np.ndarray,
                ranges: np.ndarray | None = None) -> pd.DataFrame:
        model, layout = self.model, self.layout
        probs, none = posteriors
        n = len(frame)
        if layout.has_case_id:
            case_id = frame[CASE_ID].to_numpy()
        else:
            case_id = np.arange(first_row, first_row + n)
        data: dict[str, Any] = {CASE_ID: case_id}
        ranked = probs[ok][:, model.diagnosis_columns]  # other causes are never ranked
        names = np.asarray(model.diagnoses, dtype=object)
        top = top_k(ranked, 3)
        for k in range(3):
            label = np.full(n, "", dtype=object)
            top_p = np.full(n, np.nan)
            if k < top.shape[1]:
                label[ok] = names[top[:, k]]
                top_p[ok] = ranked[np.arange(len(top)), top[:, k]]
            data[f"top{k + 1}"] = label
            data[f"top{k + 1}_probability"] = top_p
        data["triage"] = triage
        data["red_flags"] = flags
        shown = list(zip(probability_columns(model),
                         (*model.diagnosis_columns, *model.other_cause_columns), strict=True))
        for cond, j in shown:
            data[f"p_{cond}"] = probs[:, j]
        data[P_NONE] = none
        if ranges is not None:
            for cond, j in shown:
                data[f"p_{cond}_low"], data[f"p_{cond}_high"] = ranges[0, :, j], ranges[1, :, j]
        data["error"] = errors
        for name in layout.output[len(data):]:
            if name in frame.columns:  # a subclass's own columns are filled by the subclass
                data[name] = frame[name].to_numpy()
        return pd.DataFrame(data, index=frame.index, columns=list(layout.output))


#: Makes the scorer of a table: ``scorer(model, layout)``.
MakeScorer = Callable[[ModelCore, Layout], Scorer]


def score(cases: pd.DataFrame, model: ModelCore, *, keep: Iterable[str] = (),
          chunk_size: int = CHUNK_SIZE, scorer: MakeScorer | None = None,
          intervals: bool = False, draws: int = DRAWS, seed: int = SEED) -> pd.DataFrame:
    """Score a table of cases: ranked posteriors and triage, one output row per case.

    Parameters
    ----------
    cases : pandas.DataFrame
        One row per case; columns are context and finding ids (blank, None or NaN
        means not asked), plus optional ``case_id``, ``expected_condition`` (ids
        joined by ``|``, or ``none`` for a case with no modelled condition),
        ``expected_triage`` and ``notes``.
    model : ModelCore
        The model to score with (:func:`model.score` uses the bundled one by default).
    keep : iterable of str
        Other free-text columns to copy to the output untouched.
    chunk_size : int
        Cases scored at a time: the output is filled a chunk at a time, so memory
        beyond the output stays flat (a progress bar shows on a terminal).
    scorer : callable, optional
        ``scorer(model, layout)`` makes the :class:`Scorer` to use (a subclass, for
        tools such as the interview replay).
    intervals : bool, default False
        Also give each posterior's 90 % interval over the numbers' plausible ranges,
        as ``p_<condition>_low`` and ``p_<condition>_high`` (``draws`` parameter draws,
        ``seed``; see :mod:`model.uncertainty`). Costs about ``draws`` times the
        inference.

    Returns
    -------
    pandas.DataFrame
        Same index and order as ``cases``. Columns ``case_id`` (row numbers from 1
        when the input has none), ``top1``..``top3`` with their probabilities (the
        most probable diagnoses: other causes are never ranked), ``triage``,
        ``red_flags`` ("; "-joined), ``p_<condition>`` for every diagnosis, then for
        every other cause, ``p_none`` (none of the modelled conditions or other
        causes; with ``intervals``,
        then ``p_<condition>_low`` and ``_high``), ``error`` (empty when scored),
        then the expected and free-text columns as given. A row with a bad value,
        or with findings the model says cannot occur together, is not scored: its
        message is in ``error``.

    Raises
    ------
    HeelnetError
        For a problem with the table itself: an unknown column (with the closest
        valid ids), a duplicated column, or something that is not a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> from model import Model
    >>> cases = pd.DataFrame({"age_years": [11, 250], "pain_heel_back": ["yes", "yes"],
    ...                       "heel_squeeze_tender": ["yes", "no"]})
    >>> out = score(cases, Model.default())
    >>> out.loc[0, "top1"], out.loc[0, "error"]
    ('severs_disease', '')
    >>> out.loc[1, "error"]
    "'age_years' must be a whole number from 0 to 120; got 250"
    """
    if not isinstance(cases, pd.DataFrame):
        raise HeelnetError(
            f"cases must be a pandas DataFrame with one row per case; got {type(cases).__name__}"
        )
    check_parameter("score", "chunk_size", chunk_size, Interval(int, 1, None))
    layout = plan_columns(list(cases.columns), model, keep, intervals)
    scoring = _make(scorer, model, layout, _settings(intervals, draws, seed))
    scoring.batch = chunk_size
    if not len(cases):
        return pd.DataFrame(columns=list(scoring.layout.output), index=cases.index)
    numbers: dict[str, np.ndarray] = {}  # numeric columns, filled a chunk at a time
    texts: dict[str, list[pd.Series]] = {}  # text columns, compact per chunk, joined at the end
    with bar(len(cases), "scoring", " cases", minimum=2 * chunk_size) as shown:
        for start in range(0, len(cases), chunk_size):
            part = scoring.chunk(cases.iloc[start:start + chunk_size], start + 1)
            for name in part.columns:
                column = part[name]
                if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf":
                    if name not in numbers:
                        numbers[name] = np.empty(len(cases), dtype=column.dtype)
                    numbers[name][start:start + len(part)] = column.to_numpy()
                else:
                    texts.setdefault(name, []).append(column.reset_index(drop=True))
            shown.update(len(part))
    data = {**numbers, **{name: pd.concat(parts, ignore_index=True).array
                          for name, parts in texts.items()}}
    return pd.DataFrame(data, index=cases.index, columns=list(scoring.layout.output),
                        copy=False)


def _make(scorer: MakeScorer | None, model: ModelCore, layout: Layout,
          settings: tuple[int, int] | None) -> Scorer:
    """The scorer of a table, computing intervals with ``settings`` (draws, seed) if given."""
    scoring = (scorer or Scorer)(model, layout)
    scoring.intervals = settings
    return scoring


def _settings(intervals: bool, draws: int, seed: int) -> tuple[int, int] | None:
    if not intervals:
        return None
    check_parameter("score", "draws", draws, Interval(int, 20, None))
    check_parameter("score", "seed", seed, Interval(int, 0, None))
    return draws, seed


def score_partition(frame: pd.DataFrame, model: ModelCore, layout: Layout, first_row: int = 1,
                    errors: np.ndarray | None = None, chunk_size: int = CHUNK_SIZE
                    ) -> pd.DataFrame:
    """Score one pandas partition of a larger table whose header ``layout`` planned.

    The one code path of every partition, on this machine or on a Dask worker:
    ``first_row`` is the partition's first row number (from 1; the ``case_id`` when
    the table has none), ``errors`` the reader's messages for its rows.
    """
    scoring = Scorer(model, layout)
    scoring.batch = chunk_size
    return scoring.chunk(frame, first_row, errors)


# ----------------------------------------------------------------------------- CSV files


def iter_scored(source: str | os.PathLike[str], model: ModelCore, *,
                keep: Iterable[str] = (), chunk_size: int = CHUNK_SIZE,
                scorer: MakeScorer | None = None, intervals: bool = False,
                draws: int = DRAWS, seed: int = SEED) -> tuple[Layout, Iterator[pd.DataFrame]]:
    """Score a case CSV chunk by chunk, without writing it anywhere.

    The header is checked at once (errors are raised here); the rows are read and
    scored as the returned iterator is consumed. An input with a header but no
    cases raises :class:`HeelnetError` when the iterator ends.
    """
    layout, _, scored = _open_scored(source, model, keep, chunk_size, scorer,
                                     _settings(intervals, draws, seed))
    return layout, scored


def _open_scored(source: str | os.PathLike[str], model: ModelCore, keep: Iterable[str],
                 chunk_size: int, scorer: MakeScorer | None, settings: tuple[int, int] | None
                 ) -> tuple[Layout, CsvRows, Iterator[pd.DataFrame]]:
    chunks = read_csv(source, chunk_size)
    try:
        scoring = _make(scorer, model, plan_columns(chunks.header, model, keep,
                                                    settings is not None), settings)
        scoring.batch = chunk_size
    except BaseException:
        chunks.close()
        raise
    chunks.text_columns = frozenset(scoring.layout.passthrough)

    def scored() -> Iterator[pd.DataFrame]:
        first = 1
        try:
            for frame, errors in chunks:
                yield scoring.chunk(frame, first, errors)
                first += len(frame)
        finally:
            chunks.close()
        if first == 1:
            raise HeelnetError(f"'{os.fspath(source)}' has a header but no cases")

    return scoring.layout, chunks, scored()


def score_csv(source: str | os.PathLike[str], target: str | os.PathLike[str],
              model: ModelCore, *, keep: Iterable[str] = (),
              chunk_size: int = CHUNK_SIZE,
              on_chunk: Callable[[pd.DataFrame], None] | None = None,
              scorer: MakeScorer | None = None, intervals: bool = False,
              draws: int = DRAWS, seed: int = SEED, force: bool = False,
              warn: Callable[[str], None] | None = None) -> Layout:
    """Score a case CSV into an output CSV, streaming; see :func:`score` for the columns.

    Parameters
    ----------
    source, target : path
        Input and output files. ``target`` is written through
        :func:`model.files.write_atomic`: replaced only once complete, ``-`` for
        standard output; it may not be the input itself.
    model : ModelCore
    keep : iterable of str
        Extra free-text columns to copy.
    chunk_size : int
        Rows read, scored and written at a time.
    on_chunk : callable, optional
        Called with each scored chunk (for metrics and progress).
    scorer : callable, optional
        Makes the :class:`Scorer` (see :func:`score`).
    intervals, draws, seed
        Posterior intervals, as for :func:`score`.
    force : bool
        Replace ``target`` even if it is read-only.
    warn : callable, optional
        Called with a note when bytes that are not UTF-8 in free-text columns were
        replaced (those rows are still scored).

    Returns
    -------
    Layout
        What the input columns were.

    Raises
    ------
    OSError
        When the input cannot be read or the output cannot be written.
    HeelnetError
        For an empty file, a bad header, or an output that is the input or read-only
        (the output is then not touched).
    """
    layout, rows, chunks = _open_scored(source, model, keep, chunk_size, scorer,
                                        _settings(intervals, draws, seed))

    def write(handle: TextIO) -> None:
        csv.writer(handle, lineterminator="\n").writerow(layout.output)
        for out in chunks:
            if on_chunk is not None:
                on_chunk(out)
            write_rows(out, handle)

    try:
        write_atomic(target, write, force=force, inputs=[source])
    finally:
        chunks.close()  # type: ignore[attr-defined]
    if rows.replaced and warn is not None:
        columns = ", ".join(f"'{c}'" for c in layout.passthrough)
        warn(f"{rows.replaced} row(s) had bytes that are not UTF-8 in free-text column(s) "
             f"{columns} (first at line {rows.first_replaced}); they were replaced by "
             "\ufffd and the rows were scored")
    return layout
