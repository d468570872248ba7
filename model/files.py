"""Files in and out: output written whole or not at all, to wherever the user points it.

Every command and function that writes a file (score, simulate, export, reports)
goes through :func:`write_atomic`, so every writer behaves the same way:

- A **regular file** is written to a temporary file beside it and renamed over it
  only when complete: an old output is never left half-overwritten, whatever
  interrupts the run (an error, Ctrl-C, SIGTERM or SIGHUP under
  :func:`signals_as_interrupts`), and no temporary file is left behind. The
  replacement keeps the old file's permissions.
- ``-`` is **standard output**.
- An existing **special file** (a device such as ``/dev/stdout`` or ``/dev/null``,
  a FIFO) is written to in place, never replaced by a regular file.
- A **symbolic link** is followed: its target is replaced atomically and the link
  stays a link.
- An output that **is one of the inputs** (the same file, by any path) is refused
  before anything is read, as is an existing **read-only** file unless ``force``.

:func:`check_output` and :func:`check_folder` run the same checks up front, so a
command can refuse a bad target (``--report FILE``, say) before it writes
anything. Case files are read by :mod:`model.reader` (re-exported here).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import pandas as pd

from .errors import HeelnetError
from .reader import UNREADABLE, CsvRows, count_lines, read_csv

__all__ = ["STDOUT", "UNREADABLE", "CsvRows", "Interrupted", "check_folder", "check_output",
           "count_lines", "read_csv", "signals_as_interrupts", "write_atomic", "write_rows"]

#: The output name that means standard output.
STDOUT = "-"

PathLike = str | os.PathLike[str]

class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the program is, like Ctrl-C, so that every
    clean-up runs; ``signum`` is the signal's number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """The signal's name, such as ``SIGTERM``."""
        return signal.Signals(self.signum).name


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Interrupted` (a
    ``KeyboardInterrupt``), as SIGINT does, so partial outputs are cleaned up.

    A signal that was being ignored (``nohup`` ignores SIGHUP) stays ignored. Outside
    the main thread, where Python cannot set handlers, nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is None or signal.getsignal(number) == signal.SIG_IGN:
            continue
        previous[number] = signal.signal(number, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def check_output(path: PathLike, *, force: bool = False, inputs: Iterable[PathLike] = ()
                 ) -> Path | None:
    """Check that ``path`` may be written; return the file to write (``None`` for stdout).

    A symbolic link resolves to its target. Nothing is written.

    Raises
    ------
    HeelnetError
        When ``path`` is one of ``inputs`` (the same file, by any path), or an
        existing read-only file and ``force`` is false.
    IsADirectoryError, FileNotFoundError
        When ``path`` is a folder, or its folder does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> cases = pathlib.Path(tempfile.mkdtemp()) / "cases.csv"
    >>> _ = cases.write_text("pain_heel_back\\nyes\\n")
    >>> check_output(cases, inputs=[cases])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    model.errors.HeelnetError: cannot write '...cases.csv': it is the input file ...
    """
    return _output(path, force, inputs)[0]


def _output(path: PathLike, force: bool, inputs: Iterable[PathLike]) -> tuple[Path | None, bool]:
    """``(file to write, whether to write it in place)``; see :func:`check_output`."""
    if os.fspath(path) == STDOUT:
        return None, True
    given = Path(path)
    try:
        status: os.stat_result | None = os.stat(given)  # follows links, /dev/stdout too
    except FileNotFoundError:
        status = None
    if status is not None and stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(f"cannot write '{given}': it is a folder")
    if status is not None:
        for source in inputs:
            with contextlib.suppress(OSError):
                if _same_file(status, os.stat(source)):
                    raise HeelnetError(
                        f"cannot write '{given}': it is the input file '{os.fspath(source)}', "
                        "which would be destroyed; write the output to another file")
    if status is not None and not stat.S_ISREG(status.st_mode):
        return given, True  # a device or a FIFO
    target = Path(os.path.realpath(given))
    if status is not None and not target.exists():
        return given, True  # /dev/stdout onto a deleted file, say: no path to replace it by
    if status is not None:
        read_only = not status.st_mode & 0o222 or not os.access(target, os.W_OK)
        if read_only and not force:
            raise HeelnetError(f"cannot write '{given}': the file is read-only; it was not "
                               "replaced (use --force, or force=True, to replace it)")
    folder = target.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write '{given}': folder '{folder}' does not exist")
    return target, False


def check_folder(path: PathLike, *, names: Iterable[str] = (), force: bool = False) -> Path:
    """Check that the folder ``path`` exists or can be made, and that the files ``names``
    in it may be written (see :func:`check_output`). Nothing is written.

    Raises
    ------
    HeelnetError
        When ``path`` is a file, or a named file in it is read-only.
    FileNotFoundError, PermissionError
        When no folder can be made there.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise HeelnetError(f"cannot write to '{folder}': it is a file, not a folder; give a "
                           "folder for the report and its figures")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise FileNotFoundError(f"cannot make folder '{folder}': '{existing}' is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot make or write folder '{folder}': '{existing}' is "
                              "not writable")
    for name in names:
        if (folder / name).exists():
            check_output(folder / name, force=force)
    return folder


def write_atomic(path: PathLike, write: Callable[[IO[Any]], None], *, binary: bool = False,
                 force: bool = False, inputs: Iterable[PathLike] = ()) -> None:
    """Call ``write(handle)`` to make the file at ``path``, written whole or not at all.

    ``handle`` is text (UTF-8, no newline translation) or, with ``binary``, bytes.
    Where the output goes, and what is refused, is in the module docstring: a
    regular file is written beside ``path`` and renamed over it when complete; if
    ``write`` raises, the temporary file is removed and ``path`` is untouched.

    Raises
    ------
    HeelnetError
        When ``path`` is one of ``inputs`` or is read-only (without ``force``).
    IsADirectoryError, FileNotFoundError, OSError
        When ``path`` is a folder, its folder does not exist, or it cannot be written.
    """
    target, in_place = _output(path, force, inputs)
    if target is None:
        _write_stdout(write, binary)
        return
    if in_place:  # a device or a FIFO
        with _open(target, binary, "w") as handle:
            write(handle)
        return
    try:
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                                 dir=target.parent)
    except OSError as error:
        raise OSError(error.errno, f"cannot write there ({error.strerror})", str(path)) from None
    try:
        with _open(descriptor, binary, "w") as handle:
            write(handle)
        _copy_mode(target, temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _open(file: Path | int, binary: bool, mode: str) -> IO[Any]:
    if binary:
        return open(file, mode + "b")
    return open(file, mode, encoding="utf-8", newline="")


def _copy_mode(target: Path, temporary: str) -> None:
    """Give the new file the old one's permissions (and owner, when allowed); a new
    file gets the usual mode (mkstemp makes files private)."""
    try:
        old = os.stat(target)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        return
    os.chmod(temporary, stat.S_IMODE(old.st_mode))
    if hasattr(os, "chown"):
        with contextlib.suppress(OSError):
            os.chown(temporary, old.st_uid, old.st_gid)


def _write_stdout(write: Callable[[IO[Any]], None], binary: bool) -> None:
    """Write to standard output as UTF-8 bytes whatever its encoding (when it has a
    byte buffer), leaving ``sys.stdout`` usable afterwards."""
    sys.stdout.flush()
    raw = getattr(sys.stdout, "buffer", None)
    if raw is None:
        if binary:
            raise HeelnetError("cannot write binary output to this standard output")
        write(sys.stdout)
        return
    if binary:
        write(raw)
    else:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=True)
        try:
            write(text)
            text.flush()
        finally:
            text.detach()
    raw.flush()


def write_rows(frame: pd.DataFrame, handle: IO[str]) -> None:
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
