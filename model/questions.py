"""The next best question: which unasked item would tell us most about the diagnoses.

What is measured
----------------
The uncertainty about the diagnoses given evidence ``e`` is

    H(e) = sum over diagnoses c of  h(P(c present | e)),   h(p) = -p log2 p - (1-p) log2 (1-p),

the sum of the diagnoses' binary entropies, in bits. Other causes (conditions of type
``other``, which are not diagnoses) are left out: telling them apart is not the aim,
though they shape every posterior. (The conditions are not
mutually exclusive, so this is the entropy of the product of their marginal
posteriors, an upper bound on the entropy of their joint distribution; the
joint is never formed.) The expected gain of asking item ``q`` is

    G(q) = H(e) - sum over answers a of  P(q = a | e) * H(e, q = a),

the expected reduction of H. It is never negative (each binary entropy is
concave in the posterior, whose expectation over the answers is the current
posterior).

How it is computed, exactly
---------------------------
Every candidate answer becomes one row of evidence: the given items plus
``q = a``. One call of :meth:`Model.log_evidence` over all rows gives
log P(e, q = a); normalising over the answers of each ``q`` gives P(q = a | e)
(they sum to P(e)). One call of :meth:`Model.infer` gives the posteriors under
every answer. Both are exact, so G is exact: no sampling.

Candidates are the findings not yet given and the context items not yet given
(``age_years`` is asked as its age band; ``sex`` as female / male).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .checks import Interval, check_parameter

if TYPE_CHECKING:
    from .diagnosis import ModelCore

__all__ = ["Lookahead", "Question", "binary_entropy", "lookahead", "next_questions"]


@dataclass(frozen=True, slots=True)
class Question:
    """One item worth asking, with what asking it is expected to bring.

    Attributes
    ----------
    id : str
        The vocabulary id to ask about.
    meaning : str
        The question in plain words (from the vocabulary).
    expected_gain : float
        Expected reduction, in bits, of the summed binary entropies of the
        diagnoses' posteriors (see the module docstring).
    p_yes : float or None
        P(answer is yes | what was given) for a yes/no item; ``None`` for
        ``age_years`` and ``sex``.
    answers : tuple of (answer, probability)
        Every possible answer with its probability given what was given; for
        ``age_years`` the answers are the age bands.
    """

    id: str
    meaning: str
    expected_gain: float
    p_yes: float | None
    answers: tuple[tuple[str, float], ...] = ()

    def __str__(self) -> str:
        chance = "" if self.p_yes is None else f", P(yes) = {self.p_yes:.2f}"
        return f"{self.meaning} [{self.id}]: expected gain {self.expected_gain:.3f} bits{chance}"

    def _repr_html_(self) -> str:
        return html.escape(str(self))


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """Entropy in bits of a yes/no variable with P(yes) = ``p`` (elementwise; h(0) = h(1) = 0).

    Examples
    --------
    >>> float(binary_entropy(np.array(0.5)))
    1.0
    """
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = -p * np.log2(p) - (1 - p) * np.log2(1 - p)
    return np.nan_to_num(terms, nan=0.0)


@dataclass(frozen=True, slots=True)
class Lookahead:
    """Every unasked item, every answer to it, and what the evidence would become.

    Row 0 of ``context``, ``findings`` and ``posteriors`` is the evidence as it
    stands; row ``r >= 1`` is that evidence plus one answer, to the item
    ``items[owner[r - 1]]``. Tools that choose questions (:func:`next_questions`,
    :mod:`model.interview`) read it; every number in it is exact.

    Attributes
    ----------
    items : tuple of str
        The unasked input ids, vocabulary order (context items, then findings).
    labels : tuple of tuple of str
        The answers to each item (``("no", "yes")``, or the states of a context node).
    owner : int array (n_answers,)
        The item (index into ``items``) of each answer row.
    p_answer : float array (n_answers,)
        P(answer | evidence as it stands).
    context, findings : int arrays (1 + n_answers, ...)
        The engine arrays of each row.
    posteriors : float array (1 + n_answers, n_conditions)
        Every condition's posterior, other causes included (``model.conditions`` order).
    p_none : float array (1 + n_answers,)
        P(none of the conditions | the row's evidence), exact (NaN where the row's
        evidence is impossible).
    p_no_diagnosis : float
        P(none of the diagnoses | the evidence as given), exact (other causes may be
        present; equal to ``p_none[0]`` when the model has none).
    diagnosis_columns : int array
        The columns of ``posteriors`` that are diagnoses (the rest are other causes).
    """

    items: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]
    owner: np.ndarray
    p_answer: np.ndarray
    context: np.ndarray
    findings: np.ndarray
    posteriors: np.ndarray
    p_none: np.ndarray
    p_no_diagnosis: float
    diagnosis_columns: np.ndarray

    @property
    def diagnosis_posteriors(self) -> np.ndarray:
        """``posteriors`` of the diagnoses only: (1 + n_answers, n_diagnoses)."""
        return self.posteriors[:, self.diagnosis_columns]

    def expected(self, values: np.ndarray) -> np.ndarray:
        """Per item, the expectation over its answers of a per-answer-row quantity.

        ``values`` has one entry per answer row (rows 1.. of the arrays).
        """
        out = np.zeros(len(self.items))
        np.add.at(out, self.owner, self.p_answer * values)
        return out

    def information_gain(self) -> np.ndarray:
        """Per item, the expected fall of the summed binary entropies (module docstring)."""
        entropy = binary_entropy(self.diagnosis_posteriors).sum(axis=1)
        return np.maximum(entropy[0] - self.expected(entropy[1:]), 0.0)  # clip rounding


def _candidates(model: ModelCore, context: np.ndarray, findings: np.ndarray,
                exclude: frozenset[str]):
    """(id, column kind, column index, answer labels, answer codes) for each unasked item."""
    encoding = model.encoding
    out = []
    for j, node in enumerate(model.context_nodes):
        item = encoding.item_of(node)
        if context[0, j] >= 0 or item in exclude:
            continue
        states = encoding.states[node]
        out.append((item, "context", j, tuple(states), tuple(range(len(states)))))
    for j, finding in enumerate(model.findings):
        if findings[0, j] < 0 and finding not in exclude:
            out.append((finding, "finding", j, ("no", "yes"), (0, 1)))
    return out


def lookahead(model: ModelCore, context: np.ndarray, findings: np.ndarray,
              exclude: Iterable[str] = ()) -> Lookahead:
    """The :class:`Lookahead` of one encoded case: one batched, exact inference call.

    Parameters
    ----------
    model : ModelCore
    context, findings : int arrays (1, ...)
        The case as engine arrays (see :meth:`ModelCore.infer`).
    exclude : iterable of str
        Unknown items not to offer (for example, items already answered "don't know").
    """
    candidates = _candidates(model, context, findings, frozenset(exclude))
    rows = sum(len(c[4]) for c in candidates)
    ctx = np.repeat(context, rows + 1, axis=0)
    fnd = np.repeat(findings, rows + 1, axis=0)
    owner = np.empty(rows, dtype=int)
    r = 1  # row 0 is the evidence as given
    for k, (_, kind, j, _, codes) in enumerate(candidates):
        for code in codes:
            (ctx if kind == "context" else fnd)[r, j] = code
            owner[r - 1] = k
            r += 1
    log_z, joint, log_none = model.engine.joint_none(ctx, fnd)  # one pass for both
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        posteriors = joint / np.exp(log_z)[:, None]
        p_none = np.minimum(np.exp(log_none - log_z), 1.0)
    p_none[~np.isfinite(log_z)] = np.nan
    # P(answer | given): normalise P(given, answer) within each question
    log_joint = log_z[1:]
    peak = np.full(len(candidates), -np.inf)
    np.maximum.at(peak, owner, log_joint)
    weight = np.exp(log_joint - peak[owner])
    total = np.zeros(len(candidates))
    np.add.at(total, owner, weight)
    return Lookahead(tuple(c[0] for c in candidates), tuple(c[3] for c in candidates), owner,
                     weight / total[owner], ctx, fnd, posteriors, p_none,
                     float(model.no_diagnosis(ctx[:1], fnd[:1], (p_none[:1], log_z[:1]))[0]),
                     model.diagnosis_columns)


def next_questions(
    model: ModelCore, given: Mapping[str, Any], n: int | None = 5
) -> list[Question]:
    """Rank the unasked items by expected information gain about the diagnoses.

    Parameters
    ----------
    model : ModelCore
        The model to reason with.
    given : mapping of id to value
        What is known so far (validated here, like :func:`model.diagnose`).
    n : int or None, default 5
        How many questions to return, best first; ``None`` for all of them.

    Returns
    -------
    list of Question
        Best first; ties keep vocabulary order (context items before findings).

    Examples
    --------
    >>> from model import Model
    >>> best = next_questions(Model.default(), {"age_years": 41, "pain_heel_back": True}, n=3)
    >>> len(best), best[0].expected_gain >= best[1].expected_gain >= best[2].expected_gain
    (3, True)
    """
    check_parameter("next_questions", "n", n, Interval(int, 1, None), allow_none=True)
    case = model.vocabulary.validate(given)
    table = lookahead(model, *model.encoding.encode([case]))
    if not table.items:
        return []
    gain = table.information_gain()
    out = [question(model, table, k, float(gain[k])) for k in range(len(table.items))]
    out.sort(key=lambda q: -q.expected_gain)  # stable: ties keep vocabulary order
    return out if n is None else out[:n]


def question(model: ModelCore, table: Lookahead, k: int, gain: float) -> Question:
    """The :class:`Question` of item ``k`` of a lookahead table, with its answers' chances."""
    labels = table.labels[k]
    probs = table.p_answer[table.owner == k]
    answers = tuple((lab, float(p)) for lab, p in zip(labels, probs, strict=True))
    p_yes = float(probs[1]) if labels == ("no", "yes") else None
    item = table.items[k]
    return Question(item, model.vocabulary[item].meaning, gain, p_yes, answers)
