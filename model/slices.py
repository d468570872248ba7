"""A CSV file cut into slices of whole records, as raw bytes, for workers to parse.

On a Dask cluster the client should do as little per row as possible: it reads
the file's bytes and cuts them only where a record ends (a line end, in a file
without quotes), and each worker parses its slice with the very reader used
without Dask (:func:`model.files.read_csv`, on the header block followed by the
slice), so every row, blank line, malformed line and undecodable byte is read the
same way. Messages that name a line are shifted to the line's number in the
whole file.

Only files without a quote character are cut (a fast scan of the bytes decides):
then every line end is a record end, whatever the reader does with quotes, and
the client does almost nothing per row; a file with quotes is read on the
client. ``tests/test_slices.py`` checks on random files that the slices, parsed
one by one, give exactly the rows and messages of the whole file.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import HeelnetError
from .files import read_csv

__all__ = ["Slices", "parse_slice", "slices"]

_LINE = re.compile(r"(^|; )line (\d+)")


def _lines(chunk: bytes) -> int:
    """Lines as the reader counts them: ends of line are \\n, \\r\\n and a lone \\r."""
    ends = chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
    return ends + (1 if chunk and chunk[-1:] not in (b"\n", b"\r") else 0)


class Slices:
    """The header block of a CSV file and its records, ``rows`` per slice.

    Attributes
    ----------
    head : bytes
        Everything up to the end of the header record (with a BOM, if any).
    head_lines : int
        The lines in ``head``, counted as the reader counts them.
    """

    def __init__(self, path: str | os.PathLike[str], rows: int) -> None:
        self.path, self.rows = Path(path), rows
        self.head, self.head_lines = self._head()

    def _head(self) -> tuple[bytes, int]:
        lines = []
        with self.path.open("rb") as handle:
            for line in handle:
                lines.append(line)
                if line.lstrip(b"\xef\xbb\xbf").strip(b" \t\r\n,"):
                    break  # the header: the first line with a cell that is not blank
        head = b"".join(lines)
        return head, _lines(head)

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        """``(body, first line)``: whole records and the file line number they start at."""
        with self.path.open("rb") as handle:
            handle.seek(len(self.head))
            body: list[bytes] = []
            first = number = self.head_lines + 1
            for line in handle:  # without quotes, every line end is a record end
                body.append(line)
                number += _lines(line)
                if len(body) >= self.rows:
                    yield b"".join(body), first
                    body, first = [], number
            if body:
                yield b"".join(body), first


def slices(path: str | os.PathLike[str], rows: int, header: list[str]) -> Slices | None:
    """The slices of ``path``, or None for a file to read on the client instead: one with
    a quote character anywhere (how a reader treats a stray quote is its own business,
    so records are only cut where no quote can matter), or whose header block does not
    parse to ``header``."""
    if _has_quotes(Path(path)):
        return None
    cut = Slices(path, rows)
    try:
        frame, _ = parse_slice(cut.head, b"", cut.head_lines + 1)
    except HeelnetError:  # the block is blank to the reader
        return None
    return cut if list(frame.columns) == list(header) else None


def _has_quotes(path: Path) -> bool:
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            if b'"' in block:
                return True
    return False


def parse_slice(head: bytes, body: bytes, first_line: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of one slice and their messages, as :func:`read_csv` gives them for the
    whole file (lines numbered in the whole file)."""
    descriptor, name = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(head)
            handle.write(body)
        rows = read_csv(name, max(body.count(b"\n") + 1, 1))
        header = rows.header
        parts = list(rows)
    finally:
        Path(name).unlink(missing_ok=True)
    if not parts:
        return pd.DataFrame(columns=header, dtype=object), np.zeros(0, dtype=object)
    frame = pd.concat([f for f, _ in parts], ignore_index=True) if len(parts) > 1 else parts[0][0]
    errors = np.concatenate([e for _, e in parts])
    shift = first_line - (_lines(head) + 1)
    if shift and (errors != "").any():
        errors = np.array([_LINE.sub(lambda m: f"{m[1]}line {int(m[2]) + shift}", e)
                           for e in errors], dtype=object)
    return frame, errors
