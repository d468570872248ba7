"""Which question an interview asks next, and when it stops.

Every step reads one :class:`~model.questions.Lookahead` table: every unasked
item, every answer to it, the exact probability of that answer and the exact
posteriors and triage the evidence would then have. From it, in this order:

1. **Warning signs.** The triage rules (``priors/triage.csv``) are evaluated on
   every looked-ahead row, so for each unasked item the probability that its
   answer makes the triage *more urgent* than it is now is exact: a rule whose
   findings would all be present, or whose condition's posterior would reach its
   threshold. A rule that needs two unasked findings (``a & b``) cannot fire in
   one answer; for it, each unasked finding of a rule that could still fire (its
   other findings present or unasked, none answered "no" or "don't know") is given
   P(all its unasked findings are present | evidence), from one more exact
   inference call. An item is a warning sign when this risk, weighed by the level it
   would reach, is worth asking about: ``risk / tolerance >= 1``, with a tolerance of
   :attr:`Policy.emergency_risk` for the most urgent level and
   :attr:`Policy.warning_risk` for any other. The warning sign with the largest
   weighed risk is asked first, before anything else.

   How "the conditions still plausible" enter: through that probability. P(an
   answer raises the triage | evidence) sums, over the conditions, each one's
   posterior times its chance of producing the sign (plus the sign's leak), so a
   condition the evidence has made implausible adds almost nothing. A hard cut on
   the posteriors would not work: after the intake every posterior is below 1% and
   the common conditions are within a factor of ten of each other (the priors
   describe a primary-care population over a year), so a cut relative to the leader
   keeps nearly all of them and an absolute one keeps none.

2. **The most informative item**, by expected information gain about the
   conditions (:func:`model.next_questions`), while the leading condition is not
   clear. It is *clear* when no single unasked item could change which condition
   ranks first with probability :attr:`Policy.leader_change` or more.

3. **Settling the triage.** When the leader is clear but some answer would make the
   triage *less* urgent with probability :attr:`Policy.triage_change` or more (a
   condition just above its threshold, say), the item most likely to do so is asked,
   so that stopping early does not over-triage.

The interview stops when none of the three applies ("safe"), when nothing is left
to ask, or at a question limit. Everything is computed from the rules and the
vocabulary, never from particular ids, so new conditions, findings and rules work
as they arrive.

The tolerances are settings of the interview, not numbers of the model: how
cautious it is. Their defaults: a 1 in 1000 chance that one answer reveals an
emergency is worth a question, because under-triage of an emergency is the worst
error; 1 in 100 for a less urgent level; and 1 in 100 for the leader or the triage
changing with one more answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..checks import Interval, check_parameter
from ..questions import Lookahead

if TYPE_CHECKING:
    from ..diagnosis import ModelCore

__all__ = ["STOPPED", "WARNING_SIGN", "Choice", "Policy", "choose"]

INFORMATION = "most informative"
WARNING_SIGN = "warning sign"
TRIAGE = "settles the triage"
#: Why an interview stopped.
SAFE, EXHAUSTED, LIMIT = "safe", "nothing left to ask", "question limit"
#: The same, in words.
STOPPED = {
    SAFE: "The leading condition is clear and no unanswered warning sign could raise the "
          "triage.",
    LIMIT: "The question limit was reached.",
    EXHAUSTED: "Every question has been asked.",
}

_UNIT = Interval(float, 0, 1, "neither")


@dataclass(frozen=True, slots=True)
class Policy:
    """How cautious an interview is (see the module docstring).

    Attributes
    ----------
    emergency_risk : float, default 0.001
        Ask a warning sign first while the chance that its answer makes the triage the
        most urgent level is at least this.
    warning_risk : float, default 0.01
        The same for raising the triage to any less urgent level.
    leader_change : float, default 0.01
        The leading condition is clear when no single unasked item would change it
        with this probability or more.
    triage_change : float, default 0.01
        Before stopping, ask an item whose answer would make the triage less urgent
        with this probability or more.
    """

    emergency_risk: float = 0.001
    warning_risk: float = 0.01
    leader_change: float = 0.01
    triage_change: float = 0.01

    def __post_init__(self) -> None:
        for name in ("emergency_risk", "warning_risk", "leader_change", "triage_change"):
            check_parameter("Policy", name, getattr(self, name), _UNIT)


@dataclass(frozen=True, slots=True)
class Choice:
    """What to do next: ask ``item`` (index into the lookahead's items), or stop.

    ``purpose`` is :data:`WARNING_SIGN`, ``"most informative"`` or ``"settles the
    triage"``; when ``item`` is None it says why the interview stops. ``level`` is the
    triage level a warning sign could reach; ``risk`` the probability that matters
    for the purpose (the answer raising or lowering the triage, or changing the
    leader); ``gain`` the expected information gain in bits.
    """

    item: int | None
    purpose: str
    level: str | None = None
    risk: float = 0.0
    gain: float = 0.0


def _levels(model: ModelCore, table: Lookahead) -> np.ndarray:
    """Triage level index (0 = most urgent) of every row of the lookahead table."""
    rules = model.triage_rules
    posteriors = np.nan_to_num(table.posteriors, nan=0.0)  # rows of probability zero
    return rules.levels_of(rules.fired(table.findings, posteriors))


def _pairs(model: ModelCore, table: Lookahead, unknown: frozenset[str], current: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """For rules that need several unasked findings at once: per item, the chance that
    all of them are present and the level it would reach (``current`` when none)."""
    rules, findings = model.triage_rules, table.findings[0]
    index = {f: j for j, f in enumerate(model.findings)}
    rows, targets = [], []
    for rule in rules.rules:
        level = rules.levels.index(rule.level)
        codes = [findings[index[f]] for f in rule.findings]
        open_ = [f for f, c in zip(rule.findings, codes, strict=True) if c < 0]
        if level >= current or len(open_) < 2 or 0 in codes or unknown.intersection(open_):
            continue
        row = findings.copy()
        row[[index[f] for f in open_]] = 1
        rows.append(row)
        targets.append((open_, level))
    chance = np.zeros(len(table.items))
    reach = np.full(len(table.items), current)
    if not rows:
        return chance, reach
    context = np.repeat(table.context[:1], len(rows) + 1, axis=0)
    log_z, _ = model.engine.joint(context, np.vstack([findings, *rows]))
    position = {item: k for k, item in enumerate(table.items)}
    for (open_, level), log_p in zip(targets, log_z[1:], strict=True):
        p = float(np.exp(log_p - log_z[0]))
        for k in (position[f] for f in open_ if f in position):
            if (level, -p) < (reach[k], -chance[k]):  # most urgent, then most likely
                chance[k], reach[k] = p, level
    return chance, reach


def choose(model: ModelCore, table: Lookahead, unknown: frozenset[str],
           policy: Policy) -> Choice:
    """The next step of an interview from the lookahead table of its evidence.

    Parameters
    ----------
    model : ModelCore
    table : Lookahead
        Of the evidence so far, without the items already answered "don't know".
    unknown : frozenset of str
        Items answered "don't know" (a rule that needs one of them cannot fire).
    policy : Policy
    """
    if not table.items:
        return Choice(None, EXHAUSTED)
    levels = _levels(model, table)
    current, after = int(levels[0]), levels[1:]
    n_levels = len(model.triage_rules.levels)
    tolerance = np.full(n_levels, policy.warning_risk)
    tolerance[0] = policy.emergency_risk
    # 1. warning signs: the chance that the answer raises the triage, over its tolerance
    raises = after < current
    chance = table.expected(raises.astype(float))
    weighed = table.expected(np.where(raises, 1.0 / tolerance[after], 0.0))
    pair_chance, pair_level = _pairs(model, table, unknown, current)
    weighed = np.maximum(weighed, pair_chance / tolerance[np.minimum(pair_level, n_levels - 1)]
                         * (pair_level < current))
    best = int(np.argmax(weighed))
    if weighed[best] >= 1.0:
        reached = [int(r) for r in after[(table.owner == best) & raises]]
        level = min([int(pair_level[best]), *reached])
        return Choice(best, WARNING_SIGN, model.triage_rules.levels[level],
                      max(float(chance[best]), float(pair_chance[best])))
    # 2. the most informative item while the leader is not clear
    posteriors = np.nan_to_num(table.posteriors, nan=-1.0)
    leader = posteriors.argmax(axis=1)
    change = table.expected((leader[1:] != leader[0]).astype(float))
    gain = table.information_gain()
    if change.max() >= policy.leader_change:
        best = int(np.argmax(gain))
        return Choice(best, INFORMATION, risk=float(change.max()), gain=float(gain[best]))
    # 3. an answer that would lower the triage, before stopping
    lowers = table.expected((after > current).astype(float))
    best = int(np.argmax(lowers))
    if lowers[best] >= policy.triage_change:
        return Choice(best, TRIAGE, risk=float(lowers[best]), gain=float(gain[best]))
    return Choice(None, SAFE)
