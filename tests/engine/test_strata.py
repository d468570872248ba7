"""Strata (context nodes that other context nodes depend on) are summed inside the kernel,
and P(no condition, evidence) comes from the same pass: both against the split by
stratum the engine used to make, the engine held at "no condition", the readable
reference and pgmpy's VariableElimination."""

from __future__ import annotations

import numpy as np
import pytest

from model import Model
from model.engine import Engine
from model.network import NetworkTables
from tests.engine.oracle import none_present, strata_subcases
from tests.engine.test_engine import random_cases, random_network
from tests.reference import forward_backward, variable_elimination


def chain_network(seed: int) -> NetworkTables:
    """Context with a chain of parents (v <- age, sex; d <- age, v; n <- age, d), a node
    no condition reads that depends on sex (u), and one read by a single condition
    (n: summed inside its block); c1 <- c0."""
    rng = np.random.default_rng(seed)
    context = ("age_band", "sex", "v", "d", "n", "u", "w")
    states = (("a0", "a1", "a2"), ("female", "male"), *(("no", "yes"),) * 5)
    parents = ((), (), (0, 1), (0, 2), (0, 3), (1,), ())
    tables = tuple(rng.dirichlet(np.ones(len(s)), size=[len(states[p]) for p in parents[j]]
                                 or None) for j, s in enumerate(states))
    cond_parents = (("age_band", "d"), ("v", "c0"), ("n", "sex"), ("w", "d"), ("age_band",))
    conditions = tuple(f"c{i}" for i in range(len(cond_parents)))
    cond_tables = tuple(10 ** rng.uniform(-2, -0.3, size=[len(states[context.index(p)])
                                                           if p in context else 2 for p in ps])
                        for ps in cond_parents)
    findings = tuple(f"f{i}" for i in range(8))
    link = np.where(rng.random((len(conditions), len(findings))) < 0.5,
                    rng.uniform(0.1, 0.95, (len(conditions), len(findings))), 0.0)
    return NetworkTables(context, states, parents, tables, conditions, cond_parents, cond_tables,
                         findings, 10 ** rng.uniform(-3, -1, len(findings)), link)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_chain_of_context_parents_agrees_with_the_reference_and_pgmpy(seed):
    from pgmpy.inference import VariableElimination

    net = chain_network(seed)
    engine = Engine(net)
    assert engine.structure.strata == (0, 1, 2, 3) and engine.structure.unused == (5,)
    assert any(4 in block.local for block in engine.structure.blocks)
    x, f = random_cases(net, 15, np.random.default_rng(seed), max_findings=5)
    x[::2, :4] = -1  # age, sex and both chained nodes unknown
    log_z, joint, log_none = engine.joint_none(x, f)
    pgmpy_net = net.to_pgmpy()
    ve = VariableElimination(pgmpy_net)
    for r in range(len(x)):
        z, want = forward_backward(net, x[r], f[r])
        assert np.exp(log_z[r]) == pytest.approx(z, rel=1e-12)
        np.testing.assert_allclose(joint[r], want, rtol=1e-10, atol=1e-300)
        np.testing.assert_allclose(joint[r] / z, variable_elimination(pgmpy_net, net, x[r], f[r],
                                                                      ve), atol=1e-9)
    held = none_present(engine).log_evidence(x, f)
    np.testing.assert_allclose(log_none, held, rtol=1e-12)
    low = Engine(net, max_positive=1)  # the fallback's cases take the leaks' route to none
    assert ((f == 1).sum(axis=1) > 1).sum() >= 3
    np.testing.assert_allclose(low.joint_none(x, f)[2], log_none, rtol=1e-12)


@pytest.fixture(scope="module")
def bundled():
    model = Model.default()
    return model, model.engine


def strata_unknown(model: Model, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cases whose age, sex, vascular risk and diabetes are unknown (a third of them
    with diabetes known), with 2-8 findings."""
    rng = np.random.default_rng(seed)
    x, f = random_cases(model.tables, n, rng, max_findings=8)
    strata = list(model.engine.structure.strata)
    assert [model.context_nodes[j] for j in strata] == ["age_band", "sex", "vascular_risk",
                                                         "diabetes"]
    x[:, strata] = -1
    x[::3, model.context_nodes.index("diabetes")] = 1
    return x, f


@pytest.mark.parametrize("which", ["bundled", "random"])
def test_strata_summed_in_the_kernel_equal_the_split_by_stratum(bundled, which):
    """The engine used to run one sub-case per combination of the unknown strata nodes
    and add them up; the kernel now sums them itself: the same numbers."""
    if which == "bundled":
        model, engine = bundled
        x, f = strata_unknown(model, 40, 5)
    else:
        engine = Engine(random_network(1))
        x, f = random_cases(engine.network, 40, np.random.default_rng(5), max_findings=8)
    log_z, joint, log_none = engine.joint_none(x, f)
    owner, ctx, _, _ = strata_subcases(engine, x)
    z_sub, none_sub, joint_sub = engine._run(ctx, np.ascontiguousarray(f[owner]))
    assert (np.bincount(owner) > 1).sum() >= 10
    z = np.bincount(owner, weights=z_sub, minlength=len(x))
    none = np.bincount(owner, weights=none_sub, minlength=len(x))
    split = np.stack([np.bincount(owner, weights=joint_sub[:, c], minlength=len(x))
                      for c in range(joint.shape[1])], axis=1)
    np.testing.assert_allclose(np.exp(log_z), z, rtol=1e-12)
    np.testing.assert_allclose(np.exp(log_none), none, rtol=1e-12)
    np.testing.assert_allclose(joint, split, rtol=1e-11, atol=1e-300)


def test_unknown_strata_agree_with_variable_elimination_on_the_bundled_network(bundled):
    from pgmpy.inference import VariableElimination

    from model.engine.fallback import compact_network

    model, engine = bundled
    x, f = strata_unknown(model, 6, 7)
    wide = (model.tables.link > 0).sum(axis=0) > 6
    f[:, wide] = -1  # findings with many causes make VE slow
    net, order = compact_network(model.tables)
    ve = VariableElimination(net)
    got = engine.posteriors(x, f)
    for r in range(len(x)):
        ev = {n: model.encoding.states[n][s] for n, s in zip(model.context_nodes, x[r]) if s >= 0}
        ev |= {n: ("no", "yes")[v] for n, v in zip(model.findings, f[r]) if v >= 0}
        chosen = [*model.conditions[:4], "peripheral_artery_disease", "charcot_foot"]
        q = ve.query(chosen, evidence=ev, joint=False, show_progress=False,
                     elimination_order=[v for v in order if v not in ev and v not in chosen])
        for c in chosen:
            want = q[c].values[list(q[c].state_names[c]).index("yes")]
            assert abs(got[r, model.conditions.index(c)] - want) < 1e-9


def test_none_from_the_same_pass_equals_the_engine_held_at_none(bundled):
    model, engine = bundled
    x, f = strata_unknown(model, 60, 9)
    _, _, log_none = engine.joint_none(x, f)
    np.testing.assert_allclose(log_none, none_present(engine).log_evidence(x, f), rtol=1e-12)
