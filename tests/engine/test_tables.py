"""The engine's compiled numbers are the pgmpy network's: every entry of the kernel's
tables is read back from ``network()``'s CPDs, by state name, and compared.

The engine is compiled from :class:`~model.network.NetworkTables` without pgmpy, and
``network()`` is built from the same tables through pgmpy's ``TabularCPD``; this test
checks that the kernel reads what pgmpy holds (axis order, state order, strata,
noisy-OR), so the two can never drift apart silently.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from model import Model
from tests.conftest import TOY


@pytest.fixture(scope="module", params=["bundled", "toy"])
def compiled(request):
    model = Model.default() if request.param == "bundled" else Model.from_directory(TOY)
    return model, model.network(), model.engine


def p(cpd, node: str, state: str, given: dict[str, str]) -> float:
    """P(node = state | given) from a pgmpy CPD (``given`` may hold extra nodes)."""
    evidence = {v: given[v] for v in cpd.variables[1:]}
    return float(cpd.get_value(**{node: state}, **evidence))


def test_each_context_prior_is_carried_once_as_the_context_cpd(compiled):
    """``block_weight`` is ``block_table`` times the priors of the context nodes the
    block carries, read from pgmpy's CPDs; every node a condition reads is carried by
    exactly one block."""
    model, net, engine = compiled
    structure, tables = engine.structure, engine.tables
    names = model.context_nodes
    carried = [j for block in structure.blocks for j in block.carries]
    assert len(carried) == len(set(carried))
    assert set(carried) | set(structure.unused) == set(range(len(names)))
    for b, block in enumerate(structure.blocks):
        axes = [*block.shared, *block.local]
        states = [net.get_cpds(names[j]).state_names[names[j]] for j in axes]
        size = int(np.prod([len(s) for s in states])) * (1 << len(block.conds))
        start = tables.block_table_offset[b]
        table = tables.block_table[start:start + size].reshape(*map(len, states), -1)
        weight = tables.block_weight[start:start + size].reshape(table.shape)
        for combo in itertools.product(*(range(len(s)) for s in states)):
            given = {names[j]: states[a][combo[a]] for a, j in enumerate(axes)}
            prior = np.prod([p(net.get_cpds(names[j]), names[j], given[names[j]], given)
                             for j in block.carries])
            np.testing.assert_allclose(weight[combo], table[combo] * prior, rtol=1e-12,
                                       atol=1e-300)


def test_block_tables_are_the_condition_cpds(compiled):
    model, net, engine = compiled
    structure, tables = engine.structure, engine.tables
    names = model.context_nodes
    for b, block in enumerate(structure.blocks):
        axes = [*block.shared, *block.local]
        states = [net.get_cpds(names[j]).state_names[names[j]] for j in axes]
        start = tables.block_table_offset[b]
        flat = tables.block_table[start:start + int(np.prod([len(s) for s in states]))
                                  * (1 << len(block.conds))]
        table = flat.reshape(*[len(s) for s in states], 1 << len(block.conds))
        for combo in itertools.product(*(range(len(s)) for s in states)):
            given = {names[j]: states[a][combo[a]] for a, j in enumerate(axes)}
            for s in range(1 << len(block.conds)):
                members = {model.conditions[c]: ("no", "yes")[(s >> a) & 1]
                           for a, c in enumerate(block.conds)}
                expected = np.prod([p(net.get_cpds(c), c, members[c], given | members)
                                    for c in members])
                assert table[(*combo, s)] == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_findings_are_the_noisy_or_cpds(compiled):
    model, net, engine = compiled
    tables, nf = engine.tables, len(model.findings)
    for f, finding in enumerate(model.findings):
        cpd = net.get_cpds(finding)
        parents = cpd.variables[1:]
        none = dict.fromkeys(parents, "no")
        leak = p(cpd, finding, "yes", none)
        # pgmpy holds P(yes) as 1 - P(no): a leak of 1e-5 keeps ~11 digits, not 16
        assert tables.leak[f] == pytest.approx(leak, rel=1e-9, abs=1e-16)
        for c, condition in enumerate(model.conditions):
            miss = np.exp(tables.log_miss[f, c])
            if condition not in parents:
                assert miss == 1.0
                continue
            alone = p(cpd, finding, "no", none | {condition: "yes"})
            assert miss * (1 - leak) == pytest.approx(alone, rel=1e-12)
        for b, first in enumerate(tables.block_cond_offset[:-1]):  # what each state causes
            members = tables.block_conds[first:tables.block_cond_offset[b + 1]]
            for s in range(tables.block_states[b]):
                on = {model.conditions[c] for a, c in enumerate(members) if (s >> a) & 1}
                given = none | {c: "yes" for c in on if c in parents}
                caused = 1 - p(cpd, finding, "no", given) / (1 - leak)
                kernel = tables.cause[tables.block_cause_offset[b] + s * nf + f]
                assert kernel == pytest.approx(caused, rel=1e-9, abs=1e-12)
