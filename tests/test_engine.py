"""Tests of model.engine against pgmpy's VariableElimination on random networks."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pgmpy.factors.discrete import TabularCPD
from pgmpy.inference import VariableElimination
from pgmpy.models import DiscreteBayesianNetwork

from model.engine import CompiledNetwork

warnings.filterwarnings("ignore", category=FutureWarning)


def random_network(seed: int, n_bool_ctx: int = 3, n_cond: int = 7, n_find: int = 14,
                   noisy_or: bool = True):
    """A random network of heelnet's shape: context -> conditions -> noisy-OR findings."""
    rng = np.random.default_rng(seed)
    ctx = ["age_band", "sex", *(f"x{j}" for j in range(n_bool_ctx))]
    states = {"age_band": [f"age_{a}" for a in range(4)], "sex": ["female", "male"]}
    states |= {x: ["no", "yes"] for x in ctx[2:]}
    conds = [f"c{i}" for i in range(n_cond)]
    finds = [f"f{i}" for i in range(n_find)]
    net = DiscreteBayesianNetwork()
    net.add_nodes_from(ctx + conds + finds)
    cpds = []
    for x in ctx:
        p = rng.dirichlet(np.ones(len(states[x])))
        cpds.append(TabularCPD(x, len(p), p[:, None], state_names={x: states[x]}))
    cond_edges = {1: 0, 3: 2}  # c0 -> c1, c2 -> c3
    for i, c in enumerate(conds):
        parents = ["age_band", *rng.choice(ctx[1:], 2, replace=False).tolist()]
        if i in cond_edges:
            parents.append(conds[cond_edges[i]])
        order = ["yes", "no"] if i % 3 == 0 else ["no", "yes"]  # state order must not matter
        states[c] = order
        sn = {c: order} | {p: states[p] for p in parents}
        cards = [len(sn[p]) for p in parents]
        yes = 10 ** rng.uniform(-3, -0.5, size=int(np.prod(cards)))
        vals = np.vstack([yes, 1 - yes] if order[0] == "yes" else [1 - yes, yes])
        net.add_edges_from((p, c) for p in parents)
        cpds.append(TabularCPD(c, 2, vals, evidence=parents, evidence_card=cards, state_names=sn))
    for f in finds:
        m = int(rng.integers(1, 6))
        parents = rng.choice(conds, m, replace=False).tolist()
        leak, p = 10 ** rng.uniform(-3, -1), rng.uniform(0.1, 0.95, m)
        absent = [(1 - leak) * np.prod([1 - p[a] for a in range(m) if states[parents[a]][on[a]] == "yes"])
                  for on in itertools.product((0, 1), repeat=m)]
        absent = np.array(absent)
        if not noisy_or:
            absent[-1] = 0.5 * absent[-1]
        net.add_edges_from((q, f) for q in parents)
        cpds.append(TabularCPD(f, 2, np.vstack([absent, 1 - absent]), evidence=parents,
                               evidence_card=[2] * m,
                               state_names={f: ["no", "yes"]} | {q: states[q] for q in parents}))
    net.add_cpds(*cpds)
    return net, ctx, conds, finds


@pytest.fixture(scope="module", params=[1, 2])
def case(request):
    net, ctx, conds, finds = random_network(request.param)
    return net, CompiledNetwork.from_network(net, ctx, conds, finds), VariableElimination(net)


def random_cases(eng: CompiledNetwork, n: int, rng, max_findings: int = 12):
    x = np.full((n, len(eng.context)), -1)
    f = np.full((n, len(eng.findings)), -1, dtype=np.int8)
    for r in range(n):
        for j, name in enumerate(eng.context):
            if rng.random() < 0.5:
                x[r, j] = rng.integers(len(eng.context_states[name]))
        chosen = rng.choice(len(eng.findings), rng.integers(0, max_findings + 1), replace=False)
        f[r, chosen] = rng.integers(0, 2, len(chosen))
    return x, f


def reference(eng, ve, x_row, f_row):
    ev = {n: eng.context_states[n][s] for n, s in zip(eng.context, x_row, strict=True) if s >= 0}
    ev |= {n: ("no", "yes")[v] for n, v in zip(eng.findings, f_row, strict=True) if v >= 0}
    q = ve.query(variables=list(eng.conditions), evidence=ev, joint=False, show_progress=False)
    return np.array([q[c].values[list(q[c].state_names[c]).index("yes")] for c in eng.conditions])


def test_agrees_with_pgmpy(case):
    _net, eng, ve = case
    x, f = random_cases(eng, 120, np.random.default_rng(0))
    got = eng.posteriors(x, f)
    want = np.array([reference(eng, ve, a, b) for a, b in zip(x, f, strict=True)])
    np.testing.assert_allclose(got, want, atol=1e-9, rtol=0)


def test_many_positive_findings_exact(case):
    _net, eng, ve = case
    rng = np.random.default_rng(5)
    x, f = random_cases(eng, 4, rng)
    f[:, :] = -1
    f[:, : min(14, len(eng.findings))] = 1
    got = eng.posteriors(x, f)
    want = np.array([reference(eng, ve, a, b) for a, b in zip(x, f, strict=True)])
    np.testing.assert_allclose(got, want, atol=1e-9, rtol=0)


def test_rejects_non_noisy_or():
    net, ctx, conds, finds = random_network(3, noisy_or=False)
    with pytest.raises(ValueError, match="'f0'"):
        CompiledNetwork.from_network(net, ctx, conds, finds)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_properties(seed):
    net, ctx, conds, finds = random_network(1)
    eng = CompiledNetwork.from_network(net, ctx, conds, finds)
    rng = np.random.default_rng(seed)
    x, f = random_cases(eng, 6, rng, max_findings=8)
    p = eng.posteriors(x, f)
    assert np.all((p >= 0) & (p <= 1))
    one = np.vstack([eng.posteriors(x[i:i + 1], f[i:i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(p, one, atol=1e-12)
    perm = rng.permutation(len(finds))
    eng2 = CompiledNetwork.from_network(net, ctx, conds, [finds[i] for i in perm])
    np.testing.assert_allclose(eng2.posteriors(x, f[:, perm]), p, atol=1e-10)


def test_not_asked_differs_from_absent(case):
    _net, eng, _ve = case
    x = np.full((1, len(eng.context)), -1)
    f = np.full((1, len(eng.findings)), -1, dtype=np.int8)
    asked = f.copy()
    asked[0, 0] = 0
    assert np.abs(eng.posteriors(x, f) - eng.posteriors(x, asked)).max() > 1e-6


def test_real_network():
    model = pytest.importorskip("model")
    m = model.Model.default()
    net = m.network()
    eng = CompiledNetwork.from_network(net, m.context_nodes, m.conditions, m.findings)
    ve = VariableElimination(net)
    rng = np.random.default_rng(7)
    x, f = random_cases(eng, 6, rng, max_findings=6)
    x[:, :2] = 0  # age and sex known keeps this test quick
    got = eng.posteriors(x, f)
    want = np.array([reference(eng, ve, a, b) for a, b in zip(x, f, strict=True)])
    np.testing.assert_allclose(got, want, atol=1e-9, rtol=0)


# the numba kernel ---------------------------------------------------------------------
def test_numba_matches_numpy(case):
    net, eng, _ve = case
    if eng.engine != "numba":
        pytest.skip("numba is not installed")
    ref = CompiledNetwork.from_network(net, eng.context, eng.conditions, eng.findings,
                                       engine="numpy")
    x, f = random_cases(eng, 300, np.random.default_rng(11), max_findings=12)
    np.testing.assert_allclose(eng.posteriors(x, f), ref.posteriors(x, f), atol=1e-12, rtol=0)
    np.testing.assert_allclose(eng.log_evidence(x, f), ref.log_evidence(x, f),
                               rtol=1e-12, atol=1e-12)


def test_wide_cases_are_split_exactly(case, monkeypatch):
    """A case whose workspace is too large is summed over sub-cases: same answer."""
    from model import engine

    _net, eng, _ve = case
    if eng.engine != "numba":
        pytest.skip("numba is not installed")
    x, f = random_cases(eng, 40, np.random.default_rng(12), max_findings=10)
    x[::2] = -1  # every context node unknown
    whole = eng.posteriors(x, f), eng.log_evidence(x, f)
    monkeypatch.setattr(engine, "_WORKSPACE", 64)
    split = eng.posteriors(x, f), eng.log_evidence(x, f)
    np.testing.assert_allclose(split[0], whole[0], atol=1e-13, rtol=0)
    np.testing.assert_allclose(split[1], whole[1], rtol=1e-13, atol=1e-13)


def test_results_do_not_depend_on_threads(case):
    numba = pytest.importorskip("numba")
    _net, eng, _ve = case
    x, f = random_cases(eng, 600, np.random.default_rng(13))  # enough for the threads
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = eng.posteriors(x, f)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = eng.posteriors(x, f)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one, many)


def test_rejects_unknown_engine(case):
    net, eng, _ve = case
    with pytest.raises(ValueError, match="engine"):
        CompiledNetwork.from_network(net, eng.context, eng.conditions, eng.findings,
                                     engine="cuda")


# the real network, and networks built from edited priors -----------------------------
def real_cases(eng, n, rng):
    """Mixed evidence: age and sex each unknown a fifth of the time, other context items
    half the time, and 0-12 findings reported with random yes/no."""
    x = np.full((n, len(eng.context)), -1)
    f = np.full((n, len(eng.findings)), -1, dtype=np.int8)
    for r in range(n):
        for j, name in enumerate(eng.context):
            if rng.random() < (0.8 if j < 2 else 0.5):
                x[r, j] = rng.integers(len(eng.context_states[name]))
        chosen = rng.choice(len(eng.findings), rng.integers(0, 13), replace=False)
        f[r, chosen] = rng.integers(0, 2, len(chosen))
    return x, f


def check_against_ve(m, n, seed):
    net = m.network()
    eng = CompiledNetwork.from_network(net, m.context_nodes, m.conditions, m.findings)
    ve = VariableElimination(net)
    x, f = real_cases(eng, n, np.random.default_rng(seed))
    got = eng.posteriors(x, f)
    want = np.array([reference(eng, ve, a, b) for a, b in zip(x, f, strict=True)])
    np.testing.assert_allclose(got, want, atol=1e-9, rtol=0)
    return x, f


def test_real_network_batch_agrees_with_ve():
    from model import Model

    x, f = check_against_ve(Model.default(), 300, 21)
    assert (x[:, 0] < 0).sum() > 30 and (x[:, 1] < 0).sum() > 30  # age, sex unknown
    k = (f == 1).sum(axis=1)
    assert k.max() >= 6 and (k == 0).any()


def test_edited_priors_agree_with_ve(tmp_path):
    import shutil

    import pandas as pd

    from model import Model

    table = Model.default().parameters()
    base = (table.table == "condition_prior") & (table.node == "gout") & (table.parent == "")
    table.loc[base, "value"] *= 2
    link = table[table.table == "likelihood"].iloc[[0]].copy()
    linked = set(table.loc[(table.table == "likelihood") & (table.node == "swelling"), "parent"])
    new_parent = next(c for c in Model.default().conditions if c not in linked)
    link["node"], link["parent"], link["value"] = "swelling", new_parent, 0.6
    link["parents"] = f"{new_parent} present, alone"
    edited = Model.from_parameters(pd.concat([table, link], ignore_index=True))
    assert edited.network().has_edge(new_parent, "swelling")
    check_against_ve(edited, 40, 22)

    folder = tmp_path / "priors"
    shutil.copytree(Path(__file__).resolve().parents[1] / "priors", folder)
    with open(folder / "conditions.csv", "a", encoding="utf-8") as out:
        out.write("gout,immobility_or_leg_crossing,yes,2.5,assumption,test row,test row\n")
    moved = Model.from_directory(folder)
    assert moved.network().has_edge("immobility_or_leg_crossing", "gout")
    check_against_ve(moved, 40, 23)

