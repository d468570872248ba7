"""The engine against pgmpy's VariableElimination and the readable reference, on random
networks of heelnet's shape: context (some depending on other context) -> conditions
(some depending on another condition) -> leaky noisy-OR findings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.engine import Engine, kernel
from model.network import NetworkTables
from tests.reference import forward_backward, variable_elimination


def random_network(seed: int, n_bool: int = 3, n_cond: int = 7, n_find: int = 14,
                   strata: bool = True) -> NetworkTables:
    """Age (4 states) and sex roots; boolean context, the first two depending on age and
    sex when ``strata``; conditions with 2-3 context parents, c1 <- c0 and c3 <- c2."""
    rng = np.random.default_rng(seed)
    context = ("age_band", "sex", *(f"x{j}" for j in range(n_bool)))
    states = (tuple(f"age_{a}" for a in range(4)), ("female", "male"),
              *(("no", "yes") for _ in range(n_bool)))
    parents = [(), (), *(((0, 1) if strata and j < 2 else ()) for j in range(n_bool))]
    tables = []
    for j, s in enumerate(states):
        shape = [len(states[p]) for p in parents[j]]
        tables.append(rng.dirichlet(np.ones(len(s)), size=shape or None))
    conditions = tuple(f"c{i}" for i in range(n_cond))
    cond_parents, cond_tables = [], []
    for i in range(n_cond):
        ps = ["age_band", *rng.choice(context[1:], 2, replace=False).tolist()]
        if i in (1, 3):
            ps.append(conditions[i - 1])
        cards = [len(states[context.index(p)]) if p in context else 2 for p in ps]
        cond_parents.append(tuple(ps))
        cond_tables.append(10 ** rng.uniform(-3, -0.5, size=cards))
    findings = tuple(f"f{i}" for i in range(n_find))
    link = np.zeros((n_cond, n_find))
    for f in range(n_find):
        m = int(rng.integers(1, 6))
        link[rng.choice(n_cond, m, replace=False), f] = rng.uniform(0.1, 0.95, m)
    return NetworkTables(context, states, tuple(parents), tuple(tables), conditions,
                         tuple(cond_parents), tuple(cond_tables), findings,
                         10 ** rng.uniform(-3, -1, n_find), link)


def random_cases(net: NetworkTables, n: int, rng: np.random.Generator, max_findings: int = 12):
    x = np.full((n, len(net.context)), -1)
    f = np.full((n, len(net.findings)), -1, dtype=np.int8)
    for r in range(n):
        for j, s in enumerate(net.context_states):
            if rng.random() < 0.5:
                x[r, j] = rng.integers(len(s))
        chosen = rng.choice(len(net.findings), rng.integers(0, max_findings + 1), replace=False)
        f[r, chosen] = rng.integers(0, 2, len(chosen))
    return x, f


@pytest.fixture(scope="module", params=[(1, True), (2, False)], ids=["strata", "roots"])
def case(request):
    seed, strata = request.param
    net = random_network(seed, strata=strata)
    return net, Engine(net), net.to_pgmpy()


def test_agrees_with_variable_elimination(case):
    net, engine, pgmpy_net = case
    from pgmpy.inference import VariableElimination

    ve = VariableElimination(pgmpy_net)
    x, f = random_cases(net, 80, np.random.default_rng(0))
    got = engine.posteriors(x, f)
    want = np.array([variable_elimination(pgmpy_net, net, a, b, ve) for a, b in zip(x, f)])
    np.testing.assert_allclose(got, want, atol=1e-9, rtol=0)


def test_agrees_with_the_reference(case):
    net, engine, _ = case
    x, f = random_cases(net, 40, np.random.default_rng(1), max_findings=6)
    log_z, joint = engine.joint(x, f)
    for r in range(len(x)):
        z, want = forward_backward(net, x[r], f[r])
        assert np.exp(log_z[r]) == pytest.approx(z, rel=1e-12)
        np.testing.assert_allclose(joint[r], want, rtol=1e-10, atol=1e-300)


def test_strata_are_the_parents_of_context_nodes():
    with_strata = Engine(random_network(1, strata=True))
    assert with_strata.structure.strata == (0, 1)  # age and sex
    roots = Engine(random_network(1, strata=False))
    assert roots.structure.strata == ()


def test_many_present_findings_take_the_exact_fallback(case):
    net, _, pgmpy_net = case
    engine = Engine(net, max_positive=3)
    x, f = random_cases(net, 3, np.random.default_rng(5))
    f[:, :] = -1
    f[:, : engine.max_positive + 1] = 1  # one more than the kernel takes
    got = engine.posteriors(x, f)
    want = np.array([variable_elimination(pgmpy_net, net, a, b) for a, b in zip(x, f)])
    np.testing.assert_allclose(got, want, atol=1e-9, rtol=0)


def test_fallback_and_kernel_agree_on_evidence_too(case):
    net, engine, _ = case
    low = Engine(net, max_positive=1)  # sends every case with 2+ present findings to pgmpy
    x, f = random_cases(net, 12, np.random.default_rng(6), max_findings=8)
    assert ((f == 1).sum(axis=1) > 1).sum() >= 4
    np.testing.assert_allclose(low.log_evidence(x, f), engine.log_evidence(x, f), rtol=1e-9)
    np.testing.assert_allclose(low.posteriors(x, f), engine.posteriors(x, f), atol=1e-9)


def test_wide_cases_are_split_exactly(case, monkeypatch):
    """A case whose workspace is too large is summed over sub-cases: same answer."""
    import model.engine as engine_module

    net, engine, _ = case
    x, f = random_cases(net, 30, np.random.default_rng(12), max_findings=10)
    x[::2] = -1  # every context node unknown
    whole = engine.posteriors(x, f), engine.log_evidence(x, f)
    monkeypatch.setattr(engine_module, "WORKSPACE", 64)
    split = engine.posteriors(x, f), engine.log_evidence(x, f)
    np.testing.assert_allclose(split[0], whole[0], atol=1e-13, rtol=0)
    np.testing.assert_allclose(split[1], whole[1], rtol=1e-13, atol=1e-13)


def test_results_do_not_depend_on_threads(case):
    numba = pytest.importorskip("numba")
    net, engine, _ = case
    x, f = random_cases(net, kernel.PARALLEL_FROM + 100, np.random.default_rng(13))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = engine.posteriors(x, f)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = engine.posteriors(x, f)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, many)
    single = np.vstack([engine.posteriors(x[i:i + 1], f[i:i + 1]) for i in range(5)])
    np.testing.assert_allclose(single, one[:5], atol=1e-15)


def test_not_asked_differs_from_absent(case):
    net, engine, _ = case
    x = np.full((1, len(net.context)), -1)
    f = np.full((1, len(net.findings)), -1, dtype=np.int8)
    asked = f.copy()
    asked[0, 0] = 0
    assert np.abs(engine.posteriors(x, f) - engine.posteriors(x, asked)).max() > 1e-6


def test_refill_changes_numbers_not_structure(case):
    net, engine, _ = case
    moved = NetworkTables(**{**net.__dict__, "leak": net.leak * 0.5})
    refilled = engine.refill(moved)
    assert refilled.structure is engine.structure
    x, f = random_cases(net, 20, np.random.default_rng(3))
    np.testing.assert_allclose(refilled.posteriors(x, f), Engine(moved).posteriors(x, f),
                               atol=1e-14)
    other = random_network(9, n_cond=5)
    with pytest.raises(ValueError, match="same shape"):
        engine.refill(other)


def test_rejects_arrays_of_the_wrong_shape(case):
    _net, engine, _ = case
    with pytest.raises(ValueError, match=r"expected context \(1, 5\) and findings \(1, 14\)"):
        engine.posteriors(np.zeros((1, 4), dtype=int), np.zeros((1, 14), dtype=np.int8))


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_properties(seed):
    net = random_network(1)
    engine = Engine(net)
    rng = np.random.default_rng(seed)
    x, f = random_cases(net, 6, rng, max_findings=8)
    p = engine.posteriors(x, f)
    assert np.all((p >= 0) & (p <= 1))
    perm = rng.permutation(len(net.findings))  # the order of findings does not matter
    shuffled = NetworkTables(**{**net.__dict__, "findings": tuple(net.findings[i] for i in perm),
                                "leak": net.leak[perm], "link": net.link[:, perm]})
    np.testing.assert_allclose(Engine(shuffled).posteriors(x, f[:, perm]), p, atol=1e-10)


def test_refill_many_equals_refill_draw_by_draw(model):
    from dataclasses import replace

    rng = np.random.default_rng(3)
    base = model.tables
    nets = [replace(base, link=np.where(base.link > 0, base.link * rng.uniform(0.5, 1, base.link.shape), 0),
                    leak=base.leak * rng.uniform(0.5, 1.5, base.leak.shape),
                    condition_tables=tuple(t * rng.uniform(0.5, 1) for t in base.condition_tables),
                    context_tables=tuple(np.asarray(t) for t in base.context_tables))
            for _ in range(5)]
    many = model.engine.refill_many(nets)
    for net, engine in zip(nets, many):
        one = model.engine.refill(net)
        for name in one.tables._fields:
            assert np.array_equal(getattr(one.tables, name), getattr(engine.tables, name)), name
