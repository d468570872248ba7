"""A thread that asked numba for one thread launches no parallel region (Dask worker
threads rely on it), and gets the same numbers."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from model.engine import Engine, kernel
from tests.engine.test_engine import random_cases, random_network


def test_one_thread_runs_the_serial_kernel(monkeypatch):
    engine = Engine(random_network(3))
    x, f = random_cases(engine.network, kernel.PARALLEL_FROM, np.random.default_rng(3),
                        max_findings=5)
    parallel = engine.posteriors(x, f)
    before = numba.get_num_threads()
    monkeypatch.setattr(kernel, "run_parallel", lambda *a: pytest.fail("parallel launch"))
    numba.set_num_threads(1)
    try:
        serial = engine.posteriors(x, f)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(serial, parallel)
