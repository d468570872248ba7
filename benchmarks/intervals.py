"""Time posterior intervals (issue 11): diagnose(..., intervals=True) for one case, and
the Monte Carlo error of the interval's ends.

    python benchmarks/intervals.py [--draws 1000] [--seeds 10] [--cases 200]

Prints, for the seed's tennis player and a rupture case: the time of the first
``diagnose(..., intervals=True)`` of a process (after one plain diagnosis has loaded
the compiled kernel; this call draws the numbers and fills the engine for every
draw), the median of later calls (draws cached), the interval, and the standard
deviation of each end over ``--seeds`` seeds; then the time per case of
``score(..., intervals=True)`` on ``--cases`` simulated cases.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from model import Model, score
from model.uncertainty import DRAWS

CASES = {
    "tennis player": {"age_years": 41, "sex": "male", "racquet_sport": True,
                      "pain_heel_back": True, "morning_first_step_pain": True,
                      "worse_with_activity": True, "chronic_over_3_months": True},
    "rupture": {"age_years": 35, "sex": "male", "pop_or_snap": True, "palpable_gap": True,
                "pain_heel_back": True},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=DRAWS)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--cases", type=int, default=200)
    args = ap.parse_args()
    model = Model.default()
    model.diagnose(CASES["tennis player"])  # loads the compiled kernel
    for name, case in CASES.items():
        start = time.perf_counter()
        result = model.diagnose(case, intervals=True, draws=args.draws)
        first = time.perf_counter() - start
        later = []
        for _ in range(5):
            start = time.perf_counter()
            model.diagnose(case, intervals=True, draws=args.draws)
            later.append(time.perf_counter() - start)
        top = result.ranked[0][0]
        ends = np.array([model.diagnose(case, intervals=True, draws=args.draws,
                                        seed=s).intervals[top] for s in range(1, args.seeds + 1)])
        low, high = result.intervals[top]
        print(f"{name}: {top} {result.probabilities[top]:.4f}, 90% interval "
              f"[{low:.4f}, {high:.4f}] (sd over {args.seeds} seeds: {ends[:, 0].std():.4f}, "
              f"{ends[:, 1].std():.4f}); first call {first:.2f} s, later "
              f"{statistics.median(later) * 1e3:.0f} ms")
        for condition, p in result.ranked[1:3]:
            lo, hi = result.intervals[condition]
            print(f"    {condition} {p:.4f} [{lo:.4f}, {hi:.4f}]")
    cases = model.simulate(args.cases, seed=1)
    start = time.perf_counter()
    score(cases, model, intervals=True, draws=args.draws)
    took = time.perf_counter() - start
    print(f"score(..., intervals=True): {took / args.cases * 1e3:.1f} ms per case "
          f"({args.cases} simulated cases, {args.draws} draws)")


if __name__ == "__main__":
    main()
