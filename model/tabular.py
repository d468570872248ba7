"""Case files in CSV or Parquet (by extension), read and written a chunk at a time.

:func:`open_cases` gives the header at once and then ``(frame, errors)`` chunks;
CSV goes through :func:`model.files.read_csv` (a malformed line becomes an error
row), Parquet through pyarrow, one batch of rows at a time. :func:`write_chunks`
writes scored chunks, in the order given, to a CSV or a single Parquet file,
atomically (a temporary file renamed over the target only when complete), so an
old output is never left half-written; neither ever holds more than one chunk.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from .errors import HeelnetError
from .files import read_csv, write_atomic, write_rows

__all__ = ["Chunks", "is_parquet", "open_cases", "write_chunks"]


def is_parquet(path: str | os.PathLike[str]) -> bool:
    """True for a ``.parquet`` (or ``.pq``) file name."""
    return Path(path).suffix.lower() in (".parquet", ".pq")


class Chunks(Protocol):
    """An open table of cases: a ``header``, then ``(frame, errors)`` chunks."""

    header: list[str]

    def __iter__(self) -> Iterator[tuple[pd.DataFrame, np.ndarray | None]]: ...

    def close(self) -> None: ...


class ParquetRows:
    """A Parquet file read ``chunk_size`` rows at a time, as typed pandas frames."""

    def __init__(self, path: str | os.PathLike[str], chunk_size: int) -> None:
        import pyarrow.parquet as pq

        self.name = os.fspath(path)
        if not os.path.exists(self.name):
            raise FileNotFoundError(2, "No such file or directory", self.name)
        try:
            self.file = pq.ParquetFile(self.name)
        except Exception as error:  # pyarrow's ArrowInvalid for a file that is not Parquet
            raise HeelnetError(f"'{self.name}' is not a readable Parquet file ({error})") from None
        self.header = list(self.file.schema_arrow.names)
        self.chunk_size = chunk_size

    def __iter__(self) -> Iterator[tuple[pd.DataFrame, np.ndarray | None]]:
        for batch in self.file.iter_batches(batch_size=self.chunk_size):
            yield batch.to_pandas(), None

    def close(self) -> None:
        """Close the file."""
        self.file.close()


def open_cases(path: str | os.PathLike[str], chunk_size: int) -> Chunks:
    """Open a case file (Parquet by extension, else CSV) and read its header."""
    if is_parquet(path):
        return ParquetRows(path, chunk_size)
    return read_csv(path, chunk_size)


def _arrow_table(frame: pd.DataFrame, schema: Any) -> Any:
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if schema is None:
        return table
    return table.cast(schema)


def _text_schema(frame: pd.DataFrame) -> Any:
    """The first chunk's schema, with columns that are all missing typed as text (a later
    chunk may hold text there)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
              for f in table.schema]
    return pa.schema(fields)


def write_chunks(target: str | os.PathLike[str], columns: Iterable[str],
                 chunks: Iterable[pd.DataFrame], *, force: bool = False,
                 inputs: Iterable[str | os.PathLike[str]] = ()) -> int:
    """Write ``chunks`` in order to ``target`` (Parquet by extension, else CSV) through
    :func:`model.files.write_atomic` (whole or not at all; ``force`` and ``inputs`` as
    there); returns the number of rows written."""
    rows = 0

    def write_csv(handle: Any) -> None:
        nonlocal rows
        csv.writer(handle, lineterminator="\n").writerow(list(columns))
        for chunk in chunks:
            write_rows(chunk, handle)
            rows += len(chunk)

    def write_parquet(handle: Any) -> None:
        nonlocal rows
        import pyarrow.parquet as pq

        writer = None
        try:
            for chunk in chunks:
                if writer is None:
                    writer = pq.ParquetWriter(handle, _text_schema(chunk))
                writer.write_table(_arrow_table(chunk, writer.schema))
                rows += len(chunk)
            if writer is None:
                raise HeelnetError(f"nothing to write to '{os.fspath(target)}'")
        finally:
            if writer is not None:
                writer.close()  # leaves the handle open: write_atomic closes it

    parquet = is_parquet(target)
    write_atomic(target, write_parquet if parquet else write_csv, binary=parquet, force=force,
                 inputs=inputs)
    return rows
