"""Rewrite the golden baseline of the text vignettes' posteriors.

Run this only on purpose, after a change of priors/ or of the model that you
mean: ``python tests/update_baseline.py``. Review the diff of
``tests/baseline/text_vignettes.csv`` like code: it shows what the change did to
every case.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from vignettes import baseline_frame

from model import Model

BASELINE = Path(__file__).parent / "baseline" / "text_vignettes.csv"

if __name__ == "__main__":
    frame = baseline_frame(Model.default())
    BASELINE.parent.mkdir(exist_ok=True)
    frame.to_csv(BASELINE, index=False, float_format="%.17g")
    print(f"wrote {len(frame)} cases to {BASELINE}")
