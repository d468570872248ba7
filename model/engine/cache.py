"""A per-user disk cache of compiled :class:`~model.engine.tables.Structure` objects.

Compiling a network has a slow part and a cheap part. The schedule search of
:class:`~.tables.Structure` (~0.2 s) depends only on the network's *shape*; the
numbers (:func:`~.tables.fill`, ~2 ms) are refilled from the knowledge base's own
tables every time. So a fresh process looks the structure up here instead of
searching again, and an edited prior (a sensitivity run, a sweep) never writes a
new entry.

The key is a SHA-256 of everything the structure is computed from: the shape key
of :meth:`Structure.of` (node names, state counts, parents, which links are
non-zero) and the source of the modules that compute it (``tables.py``,
``schedule.py``), so a change of either is a different entry. A cache can
therefore never make results differ; at worst it is a miss. The folder is
``$HEELNET_CACHE_DIR``, else ``$XDG_CACHE_HOME/heelnet``, else
``~/.cache/heelnet``; ``HEELNET_CACHE_DIR=""`` turns the cache off. An unreadable,
unwritable or corrupt cache is silently ignored (the structure is computed as
before); entries are written atomically, and only the most recent
:data:`KEEP` are kept.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["KEEP", "cache_dir", "cached"]

#: Entries kept in the folder (the oldest are removed when there are more).
KEEP = 32
#: The modules whose source the structure depends on.
SOURCES = ("tables.py", "schedule.py")

T = TypeVar("T")


def cache_dir() -> Path | None:
    """The cache folder (None when turned off with ``HEELNET_CACHE_DIR=""``)."""
    chosen = os.environ.get("HEELNET_CACHE_DIR")
    if chosen is not None:
        return Path(chosen) if chosen.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "heelnet"


def _code_digest() -> bytes:
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for name in SOURCES:
        digest.update((here / name).read_bytes())
    return digest.digest()


def key_of(shape: Any) -> str:
    """The file name of an entry: a hash of the shape key (its ``repr``) and the code."""
    digest = hashlib.sha256(_code_digest())
    digest.update(repr(shape).encode())
    return f"structure-{digest.hexdigest()[:40]}.pickle"


def cached(shape: Any, compute: Callable[[], T]) -> T:
    """The value stored under ``shape``, or ``compute()`` (then stored, if possible).

    ``shape`` must have a ``repr`` that names everything the value depends on
    (tuples of str, int and bytes do).
    """
    folder = cache_dir()
    if folder is None:
        return compute()
    try:
        path = folder / key_of(shape)
        with path.open("rb") as handle:
            stored_shape, value = pickle.load(handle)
        if stored_shape == shape:
            return value
    except Exception:  # missing, unreadable or corrupt: compute instead
        pass
    value = compute()
    _store(folder, key_of(shape), (shape, value))
    return value


def _store(folder: Path, name: str, entry: Any) -> None:
    """Write ``entry`` atomically; any failure (read-only home, full disk) is ignored."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                pickle.dump(entry, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, folder / name)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        entries = sorted(folder.glob("structure-*.pickle"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-KEEP]:
            old.unlink(missing_ok=True)
    except Exception:
        pass
