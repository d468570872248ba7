"""Reading the bundled vignette sets (seed-text and mimic), shared by the vignette
tests and the baseline update script."""

from __future__ import annotations

from importlib import resources

import pandas as pd

from model import Model

#: The hand-written vignette files in model/data, each with its own golden baseline.
HAND_WRITTEN = ("text_vignettes.csv", "mimic_vignettes.csv")


def vignettes(name: str = "text_vignettes.csv") -> pd.DataFrame:
    """A bundled vignette file, every cell as text ('' = not asked)."""
    path = resources.files("model.data") / name
    with path.open(encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


def text_vignettes() -> pd.DataFrame:
    """The bundled seed-derived vignettes."""
    return vignettes("text_vignettes.csv")


def case_inputs(row: pd.Series, model: Model) -> dict[str, str]:
    """The context and findings of one vignette row that were asked."""
    return {k: row[k] for k in model.vocabulary.inputs if k in row and row[k] != ""}


def baseline_frame(model: Model, name: str = "text_vignettes.csv") -> pd.DataFrame:
    """Posteriors and triage of every vignette of a file: what its golden baseline stores."""
    records = []
    for _, row in vignettes(name).iterrows():
        result = model.diagnose(case_inputs(row, model))
        records.append({"case_id": row["case_id"], "triage": result.triage,
                        **{f"p_{c}": p for c, p in result.probabilities.items()}})
    return pd.DataFrame.from_records(records)
