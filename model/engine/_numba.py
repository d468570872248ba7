"""numba and the two ways the engine compiles with it.

Imported by the kernel modules only, so ``import model`` does not import numba.
``error_model="numpy"`` drops Python's zero-division checks from the integer
arithmetic of the hot loops (no divisor there can be zero); it halves the time of
the per-block loops.
"""

from __future__ import annotations

import numba

__all__ = ["inline", "njit", "numba"]

#: A compiled function, cached on disk.
njit = numba.njit(cache=True, nogil=True, error_model="numpy")
#: A small helper inlined where it is called: no call, no copy of its arguments.
inline = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")
