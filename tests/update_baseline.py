"""Rewrite the golden baselines of the hand-written vignettes' posteriors.

Run this only on purpose, after a change of priors/ or of the model that you
mean: ``python tests/update_baseline.py``. Review the diff of
``tests/baseline/*.csv`` like code: it shows what the change did to every case.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from vignettes import HAND_WRITTEN, baseline_frame

from model import Model

BASELINES = Path(__file__).parent / "baseline"

if __name__ == "__main__":
    BASELINES.mkdir(exist_ok=True)
    for name in HAND_WRITTEN:
        frame = baseline_frame(Model.default(), name)
        target = BASELINES / name
        frame.to_csv(target, index=False, float_format="%.17g")
        print(f"wrote {len(frame)} cases to {target}")
