"""Reading a case file: one row per record, or a message naming its line; never a lost record.

:func:`read_csv` opens a CSV file of any length and :class:`CsvRows` yields it a
chunk at a time. Whatever the file holds, every record becomes exactly one row,
in order, and a record that cannot be read whole becomes a row with a message
that names its line, never a crash and never a silently merged or dropped record:

- **Quotes** are read strictly (RFC 4180, as pandas and Excel write them). A cell
  that opens with a quote and is never closed, text after a closing quote, or a
  quoted cell that runs over several lines and leaves its record with the wrong
  number of cells are all taken for a stray quote: the line where the record
  began gets the message, and the lines that the quote swallowed are read again
  as records of their own. A quote *inside* an unquoted cell (``5'10"``) is text.
- **Long cells** are read up to :data:`LONGEST` characters (the csv module's
  default limit, 128 KiB, is raised while this module reads, and restored before
  every chunk is handed over); a record longer than that is a stray quote or not
  a case file, and gets a message.
- **Bytes that are not UTF-8** are replaced by U+FFFD. In a column the model reads
  they spoil their row (its message names the column); in the free-text columns
  named by :attr:`CsvRows.text_columns` they are only counted
  (:attr:`CsvRows.replaced`), and the row is scored.
- Blank lines are not records. The first line may start with a byte order mark.
"""

from __future__ import annotations

import csv
import os
import re
from collections import deque
from collections.abc import Iterator
from typing import TextIO

import numpy as np
import pandas as pd

from .errors import HeelnetError

__all__ = ["LONGEST", "UNREADABLE", "CsvRows", "count_lines", "read_csv"]

UNREADABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)
#: The most characters one record may hold (64 Mi): cells far longer than any note.
LONGEST = 1 << 26
_MIB = LONGEST >> 20


def count_lines(path: str | os.PathLike[str]) -> int:
    """Lines in a file (fast, in binary): a progress bar's estimate of its rows."""
    lines = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
    return lines


class _TooLong(Exception):
    """A record ran past :data:`LONGEST` characters."""


class _Lines:
    """The physical lines of a file, numbered from 1, with the lines of the record
    being read (``taken``) kept so that a broken record can be read again line by line."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle
        self.pending: deque[tuple[int, str]] = deque()
        self.number = 0
        self.taken: list[tuple[int, str]] = []
        self.size = 0
        self.unreadable = False

    def start(self) -> None:
        """Begin a new record."""
        self.taken, self.size, self.unreadable = [], 0, False

    def again(self, lines: list[tuple[int, str]]) -> None:
        """Read ``lines`` again, before the rest of the file."""
        self.pending.extendleft(reversed(lines))

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pending:
            number, line = self.pending.popleft()
        else:
            line = next(self.handle)  # StopIteration at the end of the file
            self.number += 1
            number = self.number
        self.taken.append((number, line))
        self.size += len(line)
        if not line.isascii() and UNREADABLE.search(line):
            self.unreadable = True
        if self.size > LONGEST and len(self.taken) > 1:
            raise _TooLong
        return line


def _why(error: Exception) -> str:
    """What is wrong with a record the csv module could not read."""
    text = str(error)
    if isinstance(error, _TooLong) or "field larger than field limit" in text:
        return (f"a cell runs on for more than {_MIB} MiB (does a quote (\") open a cell "
                "that is never closed?)")
    if "unexpected end of data" in text:
        return "a quote (\") opens a cell that is never closed"
    if "expected after" in text:
        return "text follows the closing quote (\") of a cell"
    return f"it is not valid CSV ({text})"


def _broken(first: int, error: Exception) -> str:
    """The message of a record the csv module could not read."""
    return (f"line {first}: {_why(error)}; the row was not read (a cell with a comma, quote or "
            "line break must be quoted whole, with each quote inside it doubled)")


class CsvRows:
    """An open CSV file: its ``header``, then its records chunk by chunk as text.

    Iterating yields ``(frame, errors)``: a DataFrame of strings (``""`` for an empty
    cell) and an array with a message for each row that could not be read whole
    (``""`` when fine). The file is closed when the iteration ends or :meth:`close`
    is called.

    Attributes
    ----------
    header : list of str
    text_columns : frozenset of str
        Free-text columns, where bytes that are not UTF-8 are replaced without
        spoiling the row (set it before iterating).
    replaced : int
        Rows whose free-text columns had such bytes (so far).
    first_replaced : int or None
        The line of the first of them.
    """

    def __init__(self, handle: TextIO, lines: _Lines, header: list[str], chunk_size: int
                 ) -> None:
        self.handle, self.lines, self.header = handle, lines, header
        self.chunk_size = chunk_size
        self.text_columns: frozenset[str] = frozenset()
        self.replaced = 0
        self.first_replaced: int | None = None

    def close(self) -> None:
        """Close the file."""
        self.handle.close()

    def __iter__(self) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        with self.handle:
            yield from self._chunks()

    def _chunks(self) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        rows: list[list[str]] = []
        errors: list[str] = []
        records = _records(self.lines, len(self.header))
        while True:
            limit = csv.field_size_limit(LONGEST)  # restored before the chunk is handed over
            try:
                for row, message, first, unreadable in records:
                    if unreadable:
                        row, message = self._unreadable(row, message, first)
                    rows.append(row)
                    errors.append(message)
                    if len(rows) >= self.chunk_size:
                        break
            finally:
                csv.field_size_limit(limit)
            if not rows:
                return
            yield (pd.DataFrame(rows, columns=self.header, dtype=object),
                   np.array(errors, dtype=object))
            rows, errors = [], []

    def _unreadable(self, row: list[str], message: str, first: int) -> tuple[list[str], str]:
        """Replace bytes that are not UTF-8; name the columns the model reads that had them."""
        where = [h for h, cell in zip(self.header, row) if UNREADABLE.search(cell)]
        row = [UNREADABLE.sub("\ufffd", cell) for cell in row]
        spoiled = [h for h in where if h not in self.text_columns]
        if len(spoiled) < len(where):
            self.replaced += 1
            self.first_replaced = self.first_replaced or first
        if spoiled:
            cells = ", ".join(f"'{h}'" for h in spoiled)
            message = "; ".join(filter(None, [
                message, f"line {first}: unreadable bytes (not UTF-8) in column {cells}"]))
        return row, message


def _records(lines: _Lines, width: int) -> Iterator[tuple[list[str], str, int, bool]]:
    """``(cells, message, first line, has unreadable bytes)`` per record, blank lines
    skipped; cells are padded or cut to ``width`` when the record is not read."""
    reader = csv.reader(lines, strict=True)
    while True:
        lines.start()
        try:
            row = next(reader)
        except StopIteration:
            return
        except (csv.Error, _TooLong) as error:
            taken = lines.taken
            lines.again(taken[1:])  # what the stray quote swallowed is read again
            reader = csv.reader(lines, strict=True)
            if taken:
                yield [""] * width, _broken(taken[0][0], error), taken[0][0], False
            continue
        first, last = lines.taken[0][0], lines.taken[-1][0]
        if not row or (len(row) == 1 and not row[0].strip() and width > 1):
            continue  # a blank line is not a case
        if len(row) == width:
            yield row, "", first, lines.unreadable
            continue
        if last > first:  # a quoted cell over several lines, and the cells do not fit
            lines.again(lines.taken[1:])
            reader = csv.reader(lines, strict=True)
            yield [""] * width, (
                f"line {first}: a quote (\") opens a cell that runs on to line {last} and "
                f"leaves the row with {len(row)} cells, not {width}; the row was not read "
                "(is a closing quote missing?)"), first, False
            continue
        message = (f"line {first} has {len(row)} cells but the header has {width} columns; "
                   "the row was not read")
        yield (row + [""] * width)[:width], message, first, lines.unreadable


def read_csv(path: str | os.PathLike[str], chunk_size: int) -> CsvRows:
    """Open a CSV file and read its header (the first non-blank record).

    Raises
    ------
    OSError
        When the file cannot be opened.
    HeelnetError
        For an empty file, or a header that cannot be read (bytes that are not
        UTF-8, a quote that is never closed).
    """
    name = os.fspath(path)
    handle = open(name, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
    try:
        lines = _Lines(handle)
        header = _header(name, lines)
    except BaseException:
        handle.close()
        raise
    return CsvRows(handle, lines, header, chunk_size)


def _header(name: str, lines: _Lines) -> list[str]:
    reader = csv.reader(lines, strict=True)
    limit = csv.field_size_limit(LONGEST)
    try:
        while True:
            lines.start()
            try:
                header = next(reader)
            except StopIteration:
                raise HeelnetError(f"'{name}' is empty: expected a header line and one row per "
                                   "case") from None
            except (csv.Error, _TooLong) as error:
                raise HeelnetError(f"'{name}': the header line cannot be read: {_why(error)}"
                                   ) from None
            if any(c.strip() for c in header):
                break
    finally:
        csv.field_size_limit(limit)
    if lines.unreadable:
        raise HeelnetError(f"'{name}': the header line has unreadable bytes (not UTF-8)")
    if len(lines.taken) > 1:
        raise HeelnetError(f"'{name}': a quote (\") in the header line opens a column name "
                           f"that runs on to line {lines.taken[-1][0]}; is a closing quote "
                           "missing?")
    return header
