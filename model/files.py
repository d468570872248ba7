"""Files in and out: CSV read a chunk at a time, and output written whole or not at all.

Every command that writes a file (score, simulate, export, reports) goes through
:func:`write_atomic`: the content is written to a temporary file beside the
target and renamed over it only when complete, so an old output is never left
half-overwritten, whatever interrupts the run. :func:`read_csv` streams a CSV
file of any length; a line with the wrong number of cells or with bytes that are
not UTF-8 becomes a row with its own message instead of stopping the file.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from .errors import HeelnetError

__all__ = ["CsvRows", "count_lines", "read_csv", "write_atomic", "write_rows"]

UNREADABLE = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8 (surrogateescape)


def write_atomic(path: str | os.PathLike[str], write: Callable[[TextIO], None]) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, then rename it over ``path``.

    If ``write`` raises, the temporary file is removed and ``path`` is untouched.

    Raises
    ------
    IsADirectoryError, FileNotFoundError, OSError
        When ``path`` is a folder, its folder does not exist, or it cannot be written.
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


def write_rows(frame: pd.DataFrame, handle: TextIO) -> None:
    """Append ``frame`` to a CSV without its header.

    pyarrow's C++ writer keeps full float precision and is ~10x faster than
    ``DataFrame.to_csv`` on wide tables; text cells are always quoted.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = io.BytesIO()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False))
    handle.write(sink.getvalue().decode("utf-8"))


def count_lines(path: str | os.PathLike[str]) -> int:
    """Lines in a file (fast, in binary): a progress bar's estimate of its rows."""
    lines = 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
    return lines


class CsvRows:
    """An open CSV file: its ``header``, then its rows chunk by chunk as text.

    Iterating yields ``(frame, errors)``: a DataFrame of strings (``""`` for an empty
    cell) and an array with a message for each row that could not be read whole
    (``""`` when fine). Blank lines are skipped. The file is closed when the
    iteration ends or :meth:`close` is called.
    """

    def __init__(self, handle: TextIO, reader: Any, header: list[str], unreadable: set[int],
                 chunk_size: int) -> None:
        self.handle, self.reader, self.header = handle, reader, header
        self.unreadable, self.chunk_size = unreadable, chunk_size

    def close(self) -> None:
        """Close the file."""
        self.handle.close()

    def __iter__(self) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        with self.handle:
            yield from self._chunks()

    def _chunks(self) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        width = len(self.header)
        rows: list[list[str]] = []
        errors: list[str] = []
        last_line = self.reader.line_num
        for row in self.reader:
            first_line, last_line = last_line + 1, self.reader.line_num
            if not row or (len(row) == 1 and not row[0].strip() and width > 1):
                continue  # a blank line is not a case
            message = ""
            if len(row) != width:
                message = (f"line {first_line} has {len(row)} cells but the header has "
                           f"{width} columns; the row was not read")
                row = (row + [""] * width)[:width] if len(row) < width else row[:width]
            if self.unreadable and any(n in self.unreadable
                                       for n in range(first_line, last_line + 1)):
                where = [h for h, cell in zip(self.header, row) if UNREADABLE.search(cell)]
                row = [UNREADABLE.sub("\ufffd", cell) for cell in row]
                cells = ", ".join(f"'{h}'" for h in where) or "a cell"
                message = "; ".join(filter(None, [
                    message, f"line {first_line}: unreadable bytes (not UTF-8) in column {cells}"
                ]))
            rows.append(row)
            errors.append(message)
            if len(rows) >= self.chunk_size:
                yield self._frame(rows, errors)
                rows, errors = [], []
        if rows:
            yield self._frame(rows, errors)

    def _frame(self, rows: list[list[str]], errors: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
        return pd.DataFrame(rows, columns=self.header, dtype=object), np.array(errors, object)


def _lines(handle: TextIO, unreadable: set[int]) -> Iterator[str]:
    """The lines of ``handle``, noting the numbers of those with undecodable bytes."""
    for number, line in enumerate(handle, start=1):
        if not line.isascii() and UNREADABLE.search(line):
            unreadable.add(number)
        yield line


def read_csv(path: str | os.PathLike[str], chunk_size: int) -> CsvRows:
    """Open a CSV file and read its header (the first non-blank line).

    Raises
    ------
    OSError
        When the file cannot be opened.
    HeelnetError
        For an empty file, or a header with bytes that are not UTF-8.
    """
    name = os.fspath(path)
    handle = open(name, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
    try:
        unreadable: set[int] = set()
        reader = csv.reader(_lines(handle, unreadable))
        header = next((row for row in reader if any(c.strip() for c in row)), None)
        if header is None:
            raise HeelnetError(f"'{name}' is empty: expected a header line and one row per case")
        if unreadable:
            raise HeelnetError(f"'{name}': the header line has unreadable bytes (not UTF-8)")
    except BaseException:
        handle.close()
        raise
    return CsvRows(handle, reader, header, unreadable, chunk_size)
