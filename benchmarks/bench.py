"""Benchmark the engine against pgmpy VariableElimination on the same cases.

Run ``python benchmarks/bench.py [--cases N] [--ve-cases M]``. Not a test.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore", category=FutureWarning)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--ve-cases", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from pgmpy.inference import VariableElimination

    from model import Model
    from model.engine import CompiledNetwork

    m = Model.default()
    net = m.network()
    eng = CompiledNetwork.from_network(net, m.context_nodes, m.conditions, m.findings)
    rng = np.random.default_rng(args.seed)
    n = args.cases
    x = np.full((n, len(eng.context)), -1)
    f = np.full((n, len(eng.findings)), -1, dtype=np.int8)
    for r in range(n):
        x[r, :2] = [rng.integers(len(eng.context_states[c])) for c in eng.context[:2]]
        for j in range(2, len(eng.context)):
            if rng.random() < 0.5:
                x[r, j] = rng.integers(2)
        chosen = rng.choice(len(eng.findings), rng.integers(4, 11), replace=False)
        f[r, chosen] = rng.integers(0, 2, len(chosen))
    t = time.perf_counter()
    post = eng.posteriors(x, f)
    t_eng = (time.perf_counter() - t) / n
    print(f"engine: {t_eng * 1e3:.3f} ms/case over {n} cases "
          f"({eng.last_wide_cases} long-double retries, {eng.last_exact_cases} exact-path cases)")
    ve = VariableElimination(net)
    nv = min(args.ve_cases, n)
    evs = m.decode(x[:nv], f[:nv])
    t = time.perf_counter()
    diff = 0.0
    for i, ev in enumerate(evs):
        q = ve.query(variables=list(m.conditions), evidence=ev, joint=False, show_progress=False)
        ref = [q[c].values[list(q[c].state_names[c]).index("yes")] for c in m.conditions]
        diff = max(diff, float(np.abs(np.array(ref) - post[i]).max()))
    t_ve = (time.perf_counter() - t) / nv
    print(f"pgmpy VE: {t_ve * 1e3:.3f} ms/case over {nv} cases; max |diff| {diff:.2e}; "
          f"engine/VE speed-up {t_ve / t_eng:.1f}x")
    times = []
    for _ in range(20):
        t = time.perf_counter()
        eng.posteriors(x[:1], f[:1])
        times.append(time.perf_counter() - t)
    print(f"single case median: {np.median(times) * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
