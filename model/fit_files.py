"""Write a fitted model as a priors folder: the source files with only the moved rows
rewritten, all files or none.

The folder the model was loaded from (the bundled ``priors/`` or the folder given to
:meth:`Model.from_directory`) is read whole; in each priors CSV the physical lines of
a moved row are replaced by that row written anew, and every other line is kept byte
for byte. A file without ``low`` and ``high`` columns gets them at the end of its
header; rows that do not move keep their shorter lines, which read as blank. Every
other file of the folder is copied unchanged. The new folder is written to a
temporary folder beside the target, loaded and checked against the fitted numbers,
and only then renamed into place.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterable
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import HeelnetError
from .files import write_atomic
from .knowledge import FILES, load_priors

if TYPE_CHECKING:
    from .diagnosis import ModelCore

__all__ = ["source_folder", "write_priors"]

#: Columns a moved row fills besides its key columns.
_WRITTEN = ("value", "low", "high", "source_kind", "source", "derivation")


def source_folder(model: ModelCore) -> tuple[Traversable, str]:
    """The folder ``model`` was loaded from, and its label in ``parameters().file``.

    Raises
    ------
    HeelnetError
        When the model's numbers are not those of its files (it was edited in memory).
    """
    files = model.knowledge.records.file.dropna().astype(str)
    labels = {f.rsplit("/", 1)[0] for f in files if "/" in f}
    if len(labels) != 1:
        raise HeelnetError("fit can write a priors folder only for a model loaded from one "
                           "folder (Model.default() or Model.from_directory)")
    label = labels.pop()
    folder: Traversable = resources.files("model.priors") if label == "priors" else Path(label)
    on_disk = load_priors(None if label == "priors" else Path(label)).records
    mine = model.knowledge.records
    same = (len(on_disk) == len(mine)
            and np.allclose(on_disk.value.to_numpy(float), mine.value.to_numpy(float),
                            rtol=0, atol=0, equal_nan=True))
    if not same:
        raise HeelnetError(f"this model's numbers differ from the files in '{label}' (was it "
                           "edited in memory?); fit writes a priors folder by editing the "
                           "files a model was loaded from, so load the edited numbers from "
                           "a folder first")
    return folder, label


def _spans(text: str) -> tuple[list[str], dict[int, tuple[int, int]]]:
    """The physical lines of ``text`` (with their endings) and, per row's first line
    (numbered from 1), the range of lines it spans, as :mod:`model.knowledge` numbers rows."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(io.StringIO(text))
    spans: dict[int, tuple[int, int]] = {}
    next(reader, None)
    line = 2
    for _ in reader:
        spans[line] = (line, reader.line_num)
        line = reader.line_num + 1
    return lines, spans


def _row_text(cells: Iterable[Any], ending: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=ending).writerow(cells)
    return out.getvalue()


def _rewrite(text: str, spec, moved: pd.DataFrame) -> str:
    """``text`` of one priors file with the rows of ``moved`` (by ``line``) rewritten."""
    lines, spans = _spans(text)
    ending = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    header = next(csv.reader(io.StringIO(lines[0])))
    added = [c for c in ("low", "high") if c not in header]
    if added:
        lines[0] = lines[0].rstrip("\r\n") + "," + ",".join(added) + ending
    header += added
    column_of = {csv_column: column for csv_column, column in spec.columns}
    column_of[spec.number] = "value"
    for _, rec in moved.sort_values("line", ascending=False).iterrows():
        first, last = spans[int(rec.line)]
        old = next(csv.reader(io.StringIO("".join(lines[first - 1:last]))))
        old += [""] * (len(header) - len(old))
        cells = []
        for name, cell in zip(header, old):
            column = column_of.get(name, name)
            if column in _WRITTEN:
                value = rec[column]
                cell = f"{value:.6g}" if isinstance(value, float) else str(value)
            cells.append(cell)
        lines[first - 1:last] = [_row_text(cells, ending)]
    return "".join(lines)


def _entries(folder: Traversable) -> list[Traversable]:
    return sorted((e for e in folder.iterdir()
                   if e.is_file() and e.name.endswith((".csv", ".md"))), key=lambda e: e.name)


def write_priors(directory: str | os.PathLike[str], model: ModelCore, parameters: pd.DataFrame,
                 moved: Iterable[int]) -> Path:
    """Write ``model``'s folder with the rows ``moved`` (indices of ``parameters``)
    taken from ``parameters``; see the module docstring."""
    folder, label = source_folder(model)
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise HeelnetError(f"cannot write a priors folder at '{target}': it is a file")
    if target.is_dir() and any(target.iterdir()) and not (target / "vocabulary.csv").is_file():
        raise HeelnetError(f"'{target}' is a folder that is neither empty nor a priors folder; "
                           "give a new or empty folder")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"cannot write '{target}': folder '{parent}' does not exist")
    rows = parameters.loc[list(moved)]
    by_file = {spec.name: spec for spec in FILES}
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=parent))
    try:
        for entry in _entries(folder):
            text = entry.read_text(encoding="utf-8")
            mine = rows[rows.file == f"{label}/{entry.name}"]
            if entry.name in by_file and len(mine):
                text = _rewrite(text, by_file[entry.name], mine)
            write_atomic(work / entry.name, lambda handle, text=text: handle.write(text))
        _check(work, parameters)
        _swap(work, target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return target


def _check(work: Path, parameters: pd.DataFrame) -> None:
    """The written folder loads, and its numbers are the fitted ones."""
    loaded = load_priors(work).records
    want = parameters.value.to_numpy(float)
    got = loaded.value.to_numpy(float)
    if len(got) != len(want) or not np.allclose(got, want, rtol=1e-12, atol=0, equal_nan=True):
        raise HeelnetError("internal error: the written priors do not reload to the fitted "
                           "numbers; nothing was written")


def _swap(work: Path, target: Path) -> None:
    """Move the finished folder ``work`` to ``target`` (replacing an old priors folder)."""
    os.chmod(work, 0o777 & ~_umask())
    if not target.exists():
        os.replace(work, target)
        return
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(target, old)
    try:
        os.replace(work, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
