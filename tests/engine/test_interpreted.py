"""The kernel's source run by the interpreter agrees with the compiled kernel, and is
used only where asked, for one small case."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from model.engine import Engine, interpreted
from tests.engine.oracle import strata_subcases
from tests.engine.test_engine import random_cases, random_network


@pytest.mark.parametrize("seed", [0, 1])
def test_interpreted_kernel_agrees_with_the_compiled_one(seed):
    net = random_network(seed)
    engine = Engine(net)
    x, f = random_cases(net, 20, np.random.default_rng(seed), max_findings=6)
    owner, ctx, _, _ = strata_subcases(engine, x)
    fnd = np.ascontiguousarray(f[owner])
    plain = engine._run(ctx, fnd, code=interpreted.kernel())
    compiled = engine._run(ctx, fnd)
    np.testing.assert_allclose(plain[0], compiled[0], rtol=1e-13)
    np.testing.assert_allclose(plain[1], compiled[1], rtol=1e-13, atol=1e-300)


def test_one_small_case_is_interpreted_only_inside_the_block(monkeypatch):
    engine = Engine(random_network(2))
    x, f = random_cases(engine.network, 1, np.random.default_rng(0), max_findings=3)
    monkeypatch.delitem(sys.modules, "model.engine.kernel", raising=False)
    chosen = []
    run = engine._run
    monkeypatch.setattr(engine, "_run", lambda *a, code=None, **k: (chosen.append(code),
                                                                   run(*a, code=code, **k))[1])
    with interpreted.interpreting():
        inside = engine.posteriors(x, f)
        engine.posteriors(np.repeat(x, 2, axis=0), np.repeat(f, 2, axis=0))  # two cases
    with interpreted.interpreting(limit=1):  # too big for this limit
        engine.posteriors(x, f)
    outside = engine.posteriors(x, f)
    assert chosen[0] is interpreted.kernel()
    assert chosen[1:] == [None, None, None]
    np.testing.assert_allclose(inside, outside, rtol=1e-13)
