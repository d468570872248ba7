"""Benchmark the engine and score(df) against pgmpy VariableElimination and pyAgrum on
the same cases, and time what a user meets in a fresh process.

Run ``python benchmarks/bench.py [--cases N] [--ve-cases M] [--agrum-cases A]
[--rows R ...] [--dask local:2]``. Not a test. Two sets of random cases: the
bench's (age and sex known 90% of the time, every other context item 50%) and
issue 13's (2-5 known context items); both have 4-10 findings, half present.
Every reference runs on a prefix of the same cases as the engine, and the
largest absolute difference of the posteriors is printed next to the times.
``--rows R`` also writes an R-row CSV and times ``python -m model score`` on it,
in one process and with ``--dask``, with the peak memory of the process tree.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", category=FutureWarning)


def random_cases(eng, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """4-10 reported findings with random yes/no; age and sex known 90% of the time,
    each other context item 50%. ``eng`` is the model's Encoding (names and states).
    A context that the priors make impossible (diabetes without vascular risk) has its
    vascular risk left unknown."""
    x = np.full((n, len(eng.context)), -1, dtype=np.int64)
    f = np.full((n, len(eng.findings)), -1, dtype=np.int8)
    for r in range(n):
        for j, name in enumerate(eng.context):
            if rng.random() < (0.9 if name in ("age_band", "sex") else 0.5):
                x[r, j] = rng.integers(len(eng.states[name]))
        chosen = rng.choice(len(eng.findings), rng.integers(4, 11), replace=False)
        f[r, chosen] = rng.integers(0, 2, len(chosen))
    return possible(eng, x), f


def possible(eng, x: np.ndarray) -> np.ndarray:
    """``x`` with vascular risk left unknown where the priors make the context impossible
    (diabetes without vascular risk: vascular_risk includes diabetes)."""
    if "diabetes" in eng.context and "vascular_risk" in eng.context:
        d, v = eng.context.index("diabetes"), eng.context.index("vascular_risk")
        x[(x[:, d] == 1) & (x[:, v] == 0), v] = -1
    return x


def tractable(tables, f: np.ndarray, wide: int = 8) -> np.ndarray:
    """Cases that observe at most one finding linked to more than ``wide`` conditions:
    with two or more such findings pgmpy's VariableElimination can take minutes a case
    (they join most conditions into one clique). ``tables`` is the model's NetworkTables."""
    causes = (tables.link > 0).sum(axis=0)
    return ((f >= 0) & (causes > wide)[None, :]).sum(axis=1) <= 1


def issue_cases(eng, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Issue 13's cases: 2-5 context items known (chosen at random), 4-10 findings reported
    with random yes/no."""
    x = np.full((n, len(eng.context)), -1, dtype=np.int64)
    f = np.full((n, len(eng.findings)), -1, dtype=np.int8)
    for r in range(n):
        for j in rng.choice(len(eng.context), rng.integers(2, 6), replace=False):
            x[r, j] = rng.integers(len(eng.states[eng.context[j]]))
        chosen = rng.choice(len(eng.findings), rng.integers(4, 11), replace=False)
        f[r, chosen] = rng.integers(0, 2, len(chosen))
    return possible(eng, x), f


def case_table(eng, x, f):
    """The cases as a score() input table (text cells, as read from a CSV)."""
    import pandas as pd

    rows = [{k: ("yes" if v is True else "no" if v is False else str(v))
             for k, v in user_input(eng, x[i], f[i]).items()} for i in range(len(x))]
    columns = ["age_years", *(c for c in eng.context if c != "age_band"), *eng.findings]
    return pd.DataFrame(rows, columns=columns).fillna("")


def evidence(eng, x_row, f_row) -> dict[str, str]:
    """A case as node -> state name (the evidence dict of pgmpy and pyAgrum)."""
    ev = {n: eng.states[n][s] for n, s in zip(eng.context, x_row) if s >= 0}
    ev |= {n: ("no", "yes")[v] for n, v in zip(eng.findings, f_row) if v >= 0}
    return ev


def user_input(eng, x_row, f_row) -> dict[str, object]:
    """A case as ``diagnose()`` takes it: age in years, booleans, sex."""
    out: dict[str, object] = {}
    for n, s in zip(eng.context, x_row):
        if s < 0:
            continue
        state = eng.states[n][s]
        if n == "age_band":
            out["age_years"] = int(re.findall(r"\d+", state)[0])
        elif state in ("yes", "no"):
            out[n] = state == "yes"
        else:
            out[n] = state
    out |= {n: bool(v) for n, v in zip(eng.findings, f_row) if v >= 0}
    return out


def timed(fn, *args) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def run_ve(net, eng, x, f) -> np.ndarray:
    from pgmpy.inference import VariableElimination

    ve = VariableElimination(net)
    out = np.empty((len(x), len(eng.conditions)))
    for i in range(len(x)):
        ev = evidence(eng, x[i], f[i])  # one query per condition: pgmpy's joint=False
        for j, c in enumerate(eng.conditions):  # multiplies out a 2^(conditions) joint
            q = ve.query(variables=[c], evidence=ev, show_progress=False)
            out[i, j] = q.values[list(q.state_names[c]).index("yes")]
    return out


def agrum_network(net):
    """The pgmpy network as a pyAgrum BN, every CPT filled from pgmpy's float64 values.

    Built directly (labels in pgmpy's state order) rather than through a BIF file,
    whose reader is single precision; values are set per parent configuration by
    name, so pyAgrum's internal variable order does not matter.
    """
    import itertools

    import pyagrum as gum

    bn = gum.BayesNet("heelnet")
    for node in net.nodes():
        cpd = net.get_cpds(node)
        var = gum.LabelizedVariable(node, node, 0)
        for s in cpd.state_names[node]:
            var.addLabel(str(s))
        bn.add(var)
    for a, b in net.edges():
        bn.addArc(a, b)
    for node in net.nodes():
        cpd = net.get_cpds(node)
        parents = list(cpd.variables[1:])
        values = np.asarray(cpd.values, dtype=np.float64)  # (node, *parents)
        table = bn.cpt(node)
        ranges = [range(len(cpd.state_names[p])) for p in parents]
        for combo in itertools.product(*ranges):
            where = {p: str(cpd.state_names[p][i]) for p, i in zip(parents, combo)}
            column = values[(slice(None), *combo)]
            if where:
                table[where] = column.tolist()
            else:
                table.fillWith(column.tolist())
    return bn


def run_agrum(bn, eng, x, f) -> np.ndarray:
    import pyagrum as gum

    ie = gum.LazyPropagation(bn)
    for c in eng.conditions:
        ie.addTarget(c)
    yes = [bn.variable(c).index("yes") for c in eng.conditions]
    out = np.empty((len(x), len(eng.conditions)))
    for i in range(len(x)):
        ie.setEvidence(evidence(eng, x[i], f[i]))
        ie.makeInference()
        out[i] = [ie.posterior(c)[y] for c, y in zip(eng.conditions, yes)]
    return out


def write_rows_csv(path: Path, eng, n: int, rng: np.random.Generator) -> None:
    """``n`` random cases in the scorer's CSV layout (blank = not asked)."""
    columns = ["case_id", "age_years", *(c for c in eng.context if c != "age_band"),
               *eng.findings]  # fmt: skip
    block = 20000
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, columns, restval="")
        writer.writeheader()
        for start in range(0, n, block):
            x, f = random_cases(eng, min(block, n - start), rng)
            for i in range(len(x)):
                row: dict[str, object] = {"case_id": f"c{start + i}"}
                row |= {k: ("yes" if v is True else "no" if v is False else v)
                        for k, v in user_input(eng, x[i], f[i]).items()}  # fmt: skip
                writer.writerow(row)


def time_scoring(eng, rows: list[int], seed: int, dask: str | None) -> None:
    from processes import score_rows

    with tempfile.TemporaryDirectory() as tmp:
        for n in rows:
            src = Path(tmp) / f"cases_{n}.csv"
            t, _ = timed(write_rows_csv, src, eng, n, np.random.default_rng(seed + 1))
            print(f"wrote {n} rows ({src.stat().st_size / 1e6:.0f} MB) in {t:.0f} s")
            score_rows(src, n, None)
            if dask:
                score_rows(src, n, dask)
            src.unlink()


def compare(name, m, net, x, f, args) -> None:
    """Engine and score(df) on one case set, against pgmpy VE and pyAgrum on its prefixes."""
    from model import score

    enc, engine = m.encoding, m.engine
    k = (f == 1).sum(axis=1)
    known = (x >= 0).sum(axis=1)
    print(f"\n== {name}: {len(x)} cases; known context items mean {known.mean():.1f}; "
          "present findings (k: cases): "
          + ", ".join(f"{v}: {c}" for v, c in zip(*np.unique(k, return_counts=True))))
    runs = [timed(engine.posteriors, x, f) for _ in range(3)]
    t_eng = min(t for t, _ in runs) / len(x)
    post = runs[0][1]
    table = case_table(enc, x, f)
    score(table.iloc[:300])  # parse caches warm, as in a long run
    t_score, scored = timed(score, table)
    t_score /= len(x)
    p_cols = [f"p_{c}" for c in enc.conditions]
    assert np.array_equal(scored[p_cols].to_numpy(), post, equal_nan=True)
    print(f"engine batch: {t_eng * 1e6:.1f} us/case (best of 3); "
          f"score(df): {t_score * 1e6:.1f} us/case (one run; same posteriors)")
    ok = tractable(m.tables, f)
    pick = np.flatnonzero(ok)[: args.ve_cases]
    nv = len(pick)
    if nv:
        t_ve, ref = timed(run_ve, net, enc, x[pick], f[pick])
        t_ve /= nv
        print(f"pgmpy VE (cases with at most one finding of > 8 causes, {ok.mean():.0%} of all):"
              f" {t_ve * 1e3:.2f} ms/case over {nv} cases; max |diff| "
              f"{np.abs(ref - post[pick]).max():.1e}; engine {t_ve / t_eng:.0f}x, "
              f"score(df) {t_ve / t_score:.0f}x faster")
    na = min(args.agrum_cases, len(x))
    if na:
        try:
            import pyagrum as gum
        except ImportError:
            print("pyAgrum not importable: skipped")
            return
        t_ag, ref = timed(run_agrum, agrum_network(net), enc, x[:na], f[:na])
        t_ag /= na
        print(f"pyAgrum {gum.__version__} LazyPropagation: {t_ag * 1e3:.2f} ms/case over "
              f"{na} cases; max |diff| {np.abs(ref - post[:na]).max():.1e}; "
              f"engine {t_ag / t_eng:.0f}x, score(df) {t_ag / t_score:.0f}x faster")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=20000, help="engine batch size")
    ap.add_argument("--ve-cases", type=int, default=100, help="pgmpy VE subset")
    ap.add_argument("--agrum-cases", type=int, default=500, help="pyAgrum subset (0: skip)")
    ap.add_argument("--single", type=int, default=200, help="single-case latency samples")
    ap.add_argument("--rows", type=int, nargs="*", default=[],
                    help="also time `python -m model score` on files of R rows")
    ap.add_argument("--dask", default="local:2",
                    help="with --rows, also score on this Dask scheduler ('' to skip)")
    ap.add_argument("--no-startup", action="store_true", help="skip the fresh-process timings")
    ap.add_argument("--cold-compile", action="store_true",
                    help="also time `python -m model warmup` from an empty numba cache (~20 s)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from model import Model
    from model.engine import Engine

    m = Model.default()
    net = m.network(compact=True)  # wide noisy-ORs as chains: full tables reach 2^24 numbers
    enc = m.encoding
    t_compile, engine = timed(Engine, m.tables)
    x, f = random_cases(enc, args.cases, np.random.default_rng(args.seed))
    print(f"network: {len(enc.context)} context, {len(enc.conditions)} conditions, "
          f"{len(enc.findings)} findings, {len(engine.structure.blocks)} blocks, "
          f"{len(m.triage_rules.rules)} triage rules; engine compiled in "
          f"{t_compile * 1e3:.0f} ms")
    try:
        import numba

        print(f"numba {numba.__version__}, {numba.get_num_threads()} threads, "
              f"{os.cpu_count()} CPUs")
    except ImportError:
        pass
    t_first = engine.warm()  # JIT compile or load from cache
    print(f"warm-up (JIT compile or cache load): {t_first:.2f} s")
    m.engine.warm()

    compare("bench cases (age, sex 90%, other context 50%)", m, net, x, f, args)
    xi, fi = issue_cases(enc, args.cases, np.random.default_rng(args.seed))
    compare("issue 13 cases (2-5 known context items)", m, net, xi, fi, args)
    print()

    n1 = min(args.single, len(x))
    one = []
    for i in range(n1):
        t, _ = timed(engine.posteriors, x[i : i + 1], f[i : i + 1])
        one.append(t)
    inputs = [user_input(enc, x[i], f[i]) for i in range(max(n1, 1))]
    m.diagnose(inputs[0])  # warm caches
    end = [timed(m.diagnose, d)[0] for d in inputs]
    if n1:
        print(f"single case median: engine alone {statistics.median(one) * 1e3:.3f} ms, "
              f"Model.diagnose end to end {statistics.median(end) * 1e3:.3f} ms "
              f"(over {n1} cases)")

    if not args.no_startup:
        print()
        from processes import startup

        startup(cold_compile=args.cold_compile)
    if args.rows:
        print()
        time_scoring(enc, args.rows, args.seed, args.dask)


if __name__ == "__main__":
    main()
