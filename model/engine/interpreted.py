"""The kernel's own source run by CPython: one small case without loading numba.

Loading numba and its compiled kernel costs ~0.7 s in a fresh process (numba
registers its whole library, which imports scipy), while one typical case takes a
few milliseconds when the *same* kernel functions run as plain Python. A process
that answers one case, such as ``python -m model diagnose``, therefore runs it
here when it is small (see :func:`interpreting`), and loads the compiled kernel
only for a case too big to interpret quickly.

There is one implementation. :func:`kernel` loads ``kernel.py``, ``blocks.py``,
``moves.py`` and ``workspace.py`` a second time, under the package
``model.engine._interpreted``, where ``_numba`` is a stand-in whose decorators
return the function unchanged and whose ``prange`` is ``range`` (numba's own
``NUMBA_DISABLE_JIT`` does the same, but for the whole process). The arithmetic is
the same, so the results agree with the compiled kernel to a few ulps;
``tests/engine/test_interpreted.py`` checks it.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["LIMIT", "allowed", "interpreting", "kernel", "need"]

#: Workspace doubles up to which a case is interpreted.
#: Interpreting costs about 2 us per double here (a case with age known and one finding
#: needs ~60,000: ~0.1 s; this limit ~0.4 s), less than loading numba and the compiled
#: kernel (~0.7 s).
LIMIT = 200_000

_PACKAGE = f"{__package__}._interpreted"
#: Modules that import numba, loaded again under ``_PACKAGE``.
SHADOWED = ("moves", "blocks", "workspace", "kernel")
#: Modules without numba, shared with the compiled kernel.
SHARED = ("cache", "schedule", "tables")

_limit: contextvars.ContextVar[int] = contextvars.ContextVar("interpret_limit", default=0)


def _plain(function: Any = None, **_options: Any) -> Any:
    """A stand-in for ``numba.njit``: ``@_plain`` and ``@_plain(...)`` change nothing."""
    return function if function is not None else _plain


def kernel() -> types.ModuleType:
    """The kernel module, run by the interpreter (loaded once per process)."""
    name = f"{_PACKAGE}.kernel"
    if name in sys.modules:
        return sys.modules[name]
    package = types.ModuleType(_PACKAGE)
    package.__path__ = [str(Path(__file__).parent)]
    stand_in = types.ModuleType(f"{_PACKAGE}._numba")
    stand_in.njit = stand_in.inline = _plain  # type: ignore[attr-defined]
    stand_in.CACHE = False  # type: ignore[attr-defined]
    stand_in.numba = types.SimpleNamespace(  # type: ignore[attr-defined]
        njit=_plain, prange=range, get_num_threads=lambda: 1)
    sys.modules[_PACKAGE] = package
    sys.modules[stand_in.__name__] = stand_in
    for shared in SHARED:
        sys.modules[f"{_PACKAGE}.{shared}"] = importlib.import_module(f"{__package__}.{shared}")
    return importlib.import_module(name)


def need(ctx: Any, fnd: Any, tables: Any) -> int:
    """Workspace doubles of these (sub-)cases, summed (``workspace.need``, interpreted)."""
    kernel()
    return int(sys.modules[f"{_PACKAGE}.workspace"].need(ctx, fnd, tables).sum())


def allowed() -> int:
    """The workspace up to which the current context interprets a case (0: never)."""
    return _limit.get()


@contextlib.contextmanager
def interpreting(limit: int = LIMIT) -> Iterator[None]:
    """Within the block, engines interpret a batch of one case needing at most ``limit``
    doubles of workspace instead of loading the compiled kernel (unless this process
    has loaded it already: then it is faster).

    Examples
    --------
    >>> from model import Model
    >>> with interpreting():
    ...     result = Model.default().diagnose({"age_years": 41, "pop_or_snap": True,
    ...                                       "palpable_gap": True})
    >>> result.ranked[0][0]
    'achilles_rupture'
    """
    token = _limit.set(int(limit))
    try:
        yield
    finally:
        _limit.reset(token)
