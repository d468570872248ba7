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
import tempfile
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
                 chunks: Iterable[pd.DataFrame]) -> int:
    """Write ``chunks`` in order to ``target`` (Parquet by extension, else CSV) atomically;
    returns the number of rows written."""
    if not is_parquet(target):
        rows = 0

        def write(handle: Any) -> None:
            nonlocal rows
            csv.writer(handle, lineterminator="\n").writerow(list(columns))
            for chunk in chunks:
                write_rows(chunk, handle)
                rows += len(chunk)

        write_atomic(target, write)
        return rows
    return _write_parquet(Path(target), chunks)


def _write_parquet(target: Path, chunks: Iterable[pd.DataFrame]) -> int:
    import pyarrow.parquet as pq

    if target.is_dir():
        raise IsADirectoryError(f"cannot write '{target}': it is a folder")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write '{target}': folder '{folder}' does not exist")
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                             dir=folder)
    os.close(descriptor)
    rows, writer = 0, None
    try:
        for chunk in chunks:
            if writer is None:
                schema = _text_schema(chunk)
                writer = pq.ParquetWriter(temporary, schema)
            writer.write_table(_arrow_table(chunk, writer.schema))
            rows += len(chunk)
        if writer is None:
            raise HeelnetError(f"nothing to write to '{target}'")
        writer.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        if writer is not None:
            writer.close()
        Path(temporary).unlink(missing_ok=True)
        raise
    return rows
