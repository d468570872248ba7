"""Simulated vignettes: reproducible, filtered as documented, and the model is
calibrated on them (a self-consistency check of sampler, network and inference)."""

from __future__ import annotations

import numpy as np
import pytest
from pgmpy.inference import VariableElimination

from model import HeelnetError, Model, UnknownIdError, score, simulate
from model.cli import main
from model.simulate import draw_findings, draw_truth, iter_samples, sample

Z = 4.0  # |z| bound: with ~20 conditions and 10 bins, a false alarm has odds < 1 in 500


def test_same_seed_same_file_different_seed_different_file(tmp_path):
    files = {}
    for name, seed in [("a", 7), ("b", 7), ("c", 8)]:
        path = tmp_path / f"{name}.csv"
        assert main(["simulate", "-n", "50", "--seed", str(seed), "-o", str(path),
                     "--priors", "tests/toy_priors"]) == 0
        files[name] = path.read_bytes()
    assert files["a"] == files["b"]
    assert files["a"] != files["c"]


def test_cases_consult_for_pain_and_have_a_condition(model):
    cases = simulate(400, seed=3, model=model)
    assert len(cases) == 400 and cases["case_id"].is_unique
    assert (cases["expected_condition"] != "").all()
    pain = [f for f in model.findings if "pain" in f]
    assert (cases[pain] == "yes").any(axis=1).all()
    listed = cases["expected_condition"].str.split("|").explode()
    assert listed.isin(model.conditions).all()


def test_histories_are_partial(model):
    cases = simulate(2000, seed=4, model=model)
    findings = cases[list(model.findings)]
    # 35% of findings asked, plus the reported complaint that every kept case has
    assert 0.55 < (findings == "").to_numpy().mean() < 0.70
    assert 0.02 < (cases["age_years"] == "").mean() < 0.10
    assert 0.02 < (cases["sex"] == "").mean() < 0.10
    assert 0.2 < (cases["running"] == "").mean() < 0.4
    ages = cases.loc[cases["age_years"] != "", "age_years"].astype(int)
    assert ages.between(0, 120).all()


def test_expected_triage_follows_the_rules_on_the_truth(toy_model):
    rng = np.random.default_rng(1)
    cases = sample(toy_model, 500, rng)
    rules = toy_model.triage_rules
    again = rules.levels_of(rules.fired(cases.findings, cases.truth.astype(float), cases.context))
    assert (again == cases.triage).all()
    # the toy rule "a tear is likely" is an emergency, so every true tear is one
    tear = cases.truth[:, toy_model.conditions.index("tear")]
    assert (cases.triage[tear] == 0).all()


def test_simulated_cases_score_without_errors(toy_model):
    out = score(simulate(300, seed=5, model=toy_model), toy_model)
    assert (out["error"] == "").all()


def test_without_condition_some_cases_have_none(toy_model):
    cases = simulate(500, seed=6, model=toy_model, require_condition=False)
    assert (cases["expected_condition"] == "none").any()


def test_bad_settings(toy_model):
    with pytest.raises(HeelnetError, match=r"The 'asked' parameter of sample must be a number in the range \(0, 1\]; got 1.5"):
        simulate(5, model=toy_model, asked=1.5)
    with pytest.raises(HeelnetError, match=r"The 'asked' parameter of sample .*; got 0"):
        simulate(5, model=toy_model, asked=0)
    with pytest.raises(UnknownIdError, match=r"The 'complaint' parameter of sample names an unknown finding 'ache'"):
        simulate(5, model=toy_model, complaint=["ache"])
    with pytest.raises(HeelnetError, match=r"The 'seed' parameter of simulate must be a whole number in the range \[0, inf\); got -1"):
        simulate(5, seed=-1, model=toy_model)


def test_forward_sampler_matches_the_network_marginals(toy_model):
    n = 200_000
    rng = np.random.default_rng(2)
    tables = toy_model.tables
    context, truth = draw_truth(tables, n, rng)
    findings = draw_findings(tables, truth, rng)
    states = {"runner": context[:, tables.context.index("runner")]}
    states |= {c: truth[:, i] for i, c in enumerate(tables.conditions)}
    states |= {f: findings[:, j] for j, f in enumerate(tables.findings)}
    ve = VariableElimination(toy_model.network())
    for node in ("runner", "tendon", "tear", "pain", "lump"):
        p = ve.query([node], show_progress=False).values[1]
        observed = states[node].mean()
        assert abs(observed - p) < Z * np.sqrt(p * (1 - p) / n), node


# ----------------------------------------------------------------------------- calibration


def check_calibration(model: Model, n: int, seed: int) -> None:
    """The model's posteriors on cases drawn from the model match the truth.

    Cases are drawn with ``require_condition=False``: the consult filter then
    selects only on *reported* complaint findings, which are in the evidence, so
    P(condition | evidence) is the right prediction on the kept population.
    (Requiring a true condition selects on something the model does not see.)
    """
    cases = sample(model, n, np.random.default_rng(seed), require_condition=False)
    probs = np.vstack([model.infer(cases.context[i:i + 5000], cases.findings[i:i + 5000])
                       for i in range(0, n, 5000)])
    truth = cases.truth.astype(float)
    # each condition: observed count against predicted count
    variance = (probs * (1 - probs)).sum(axis=0)
    z = (truth.sum(axis=0) - probs.sum(axis=0)) / np.sqrt(np.maximum(variance, 1e-12))
    worst = int(np.argmax(np.abs(z)))
    assert np.abs(z).max() < Z, (
        f"{model.conditions[worst]}: observed {truth[:, worst].mean():.5f}, "
        f"predicted {probs[:, worst].mean():.5f} (z = {z[worst]:.2f})")
    # binned reliability over every condition probability
    p, y = probs.ravel(), truth.ravel()
    which = np.searchsorted(np.linspace(0, 1, 11)[1:-1], p)
    for b in range(10):
        in_bin = which == b
        if in_bin.sum() < 30:
            continue
        gap = y[in_bin].sum() - p[in_bin].sum()
        bound = Z * np.sqrt((p[in_bin] * (1 - p[in_bin])).sum()) + 1.0
        assert abs(gap) < bound, f"bin {b}: observed {y[in_bin].mean():.4f}, " \
                                 f"predicted {p[in_bin].mean():.4f}, {in_bin.sum()} probabilities"
    # top-1 accuracy is what the top-1 probabilities promise
    top = probs.argmax(axis=1)
    top_p = probs[np.arange(n), top]
    hits = cases.truth[np.arange(n), top].sum()
    assert abs(hits - top_p.sum()) < Z * np.sqrt((top_p * (1 - top_p)).sum()), (
        f"top-1 accuracy {hits / n:.4f} against mean top-1 probability {top_p.mean():.4f}")


def test_toy_model_is_calibrated_on_its_own_cases(toy_model):
    check_calibration(toy_model, 6000, seed=11)


def test_bundled_model_is_calibrated_on_its_own_cases(model):
    check_calibration(model, 40_000, seed=12)


# ----------------------------------------------------------------------------- issue 14


def bin_z(summary) -> np.ndarray:
    """Observed minus predicted count per reliability bin, in standard errors (bins with 30
    or more probabilities)."""
    count, predicted, observed = summary.bins
    mean = np.divide(predicted, count, out=np.zeros_like(predicted), where=count > 0)
    z = (observed - predicted) / np.sqrt(np.maximum(predicted * (1 - mean), 1e-12))
    return z[count >= 30]


@pytest.mark.parametrize("all_cases", [True, False])
def test_all_cases_reproduces_the_calibrated_setting_and_the_report_says_which(
        tmp_path, capsys, all_cases):
    """Issue 14: the README said simulated cases were calibrated, but `simulate` then
    `score --report` put every middle bin far outside its band: the default keeps only cases
    with a condition. `--all-cases` keeps the rest (expected_condition 'none'), and the
    report says which setting its figures come from."""
    import pandas as pd

    from model import evaluate

    toy = Model.from_directory("tests/toy_priors")
    cases = tmp_path / "cases.csv"
    argv = ["simulate", "-n", "2000", "--seed", "2", "--priors", "tests/toy_priors",
            "-o", str(cases), *(["--all-cases"] if all_cases else [])]
    assert main(argv) == 0
    table = pd.read_csv(cases, dtype=str, keep_default_na=False)
    assert (table["expected_condition"] == "none").any() == all_cases
    report = tmp_path / "report"
    assert main(["score", str(cases), "-o", str(tmp_path / "out.csv"), "--priors",
                 "tests/toy_priors", "--quiet", "--report", str(report)]) == 0
    text = (report / "report.md").read_text()
    z = bin_z(evaluate(table, toy))
    if all_cases:
        assert "have none of the modelled conditions" in text
        assert np.abs(z).max() < Z
    else:
        assert "Every case here has at least one expected condition" in text
        assert "simulate --all-cases" in text
        assert z.max() > Z  # the probabilities run low on cases chosen for a condition


def test_simulate_seed_minus_one_is_one_line(tmp_path, capsys):
    """Issue 14: `simulate --seed -1` was a numpy traceback."""
    target = tmp_path / "cases.csv"
    code = main(["simulate", "-n", "5", "--seed", "-1", "-o", str(target), "--priors",
                 "tests/toy_priors"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("error: The 'seed' parameter of simulate must be a whole number")
    assert not target.exists()


def test_written_a_batch_at_a_time_the_file_is_the_table(tmp_path, toy_model):
    """The CLI writes batches as they are drawn (flat memory); the rows are simulate()'s."""
    import pandas as pd

    target = tmp_path / "cases.csv"
    assert main(["simulate", "-n", "6000", "--seed", "9", "-o", str(target), "--priors",
                 "tests/toy_priors"]) == 0
    table = simulate(6000, seed=9, model=toy_model)
    assert len(list(iter_samples(toy_model, 6000, np.random.default_rng(9)))) > 1
    pd.testing.assert_frame_equal(pd.read_csv(target, dtype=str, keep_default_na=False),
                                  table.astype(str), check_dtype=False)


def test_other_causes_are_never_expected(other_model):
    """Simulated cases list only diagnoses; one whose only causes are other causes is
    'none'; with require_condition every case has a diagnosis. labelled_cases, read by
    fit as the whole truth, lists the other causes too."""
    from model.simulate import labelled_cases, to_frame

    other = other_model.conditions.index("other_calf_cause")
    drawn = sample(other_model, 3000, np.random.default_rng(8), require_condition=False)
    only_other = drawn.truth[:, other] & ~drawn.truth[:, other_model.diagnosis_columns].any(1)
    assert only_other.any()
    frame = to_frame(other_model, drawn)
    listed = frame["expected_condition"].str.split("|").explode()
    assert listed.isin([*other_model.diagnoses, "none"]).all()
    assert (frame["expected_condition"][only_other] == "none").all()
    kept = simulate(300, seed=9, model=other_model)
    assert kept["expected_condition"].str.split("|").explode().isin(other_model.diagnoses).all()
    named = simulate(300, seed=9, model=other_model, other_causes=True)
    assert named["expected_condition"].str.contains("other_").any()
    assert named.drop(columns="expected_condition").equals(
        kept.drop(columns="expected_condition"))
    people = labelled_cases(other_model, 600, seed=4)
    assert people["expected_condition"].str.contains("other_calf_cause").any()
