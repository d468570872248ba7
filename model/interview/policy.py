"""Which question an interview asks next, and when it stops: by what stopping costs.

The criterion
-------------
Every error the interview can make at its end has a cost, counted in questions
(:class:`Policy`; one more question costs 1). Stopping now is an error when one more
answer would change a decision: the triage, made more urgent by the answer
(under-triage now; :attr:`Policy.missed_emergency` when the answer would make it the
most urgent level, :attr:`Policy.under_triage` otherwise) or less urgent
(over-triage now, :attr:`Policy.over_triage`); or the leading condition, named
wrong (:attr:`Policy.wrong_leader`). For every unasked item the expected cost of
stopping that asking it would avoid is exact, from one :class:`~model.questions.Lookahead`
table (every answer, its probability and the posteriors and triage it would give).
An item is worth asking when that cost exceeds the cost of the question, 1:

1. **Warning signs first.** The cost of the triage rising with the answer,
   ``sum over answers of P(answer) * cost(triage now -> triage after)``. A rule that
   needs two unasked items (``a & b``, or a finding with a context item such as
   diabetes) cannot fire in one answer; each unasked item of such a rule (its other
   items present or unasked, none answered "no" or "don't know"; a context item in the
   one state the rule accepts) is given P(all its unasked items are so | evidence)
   times the cost of the level, from one more exact inference call. Likewise an
   emergency rule on a condition's posterior that two answers reach together but
   neither alone (weak foot pulses and vascular risk for acute ischaemia): the
   answers that raise that posterior most (:attr:`Policy.paired` per rule) are tried in
   pairs, in one more call, and each item of a pair that fires gets the pair's chance
   times the cost of an emergency. The sign with
   the largest cost is asked while any is worth its question, before anything else
   (the issue's order: under-triage is the worst error, and a sign asked while it
   is still plausible is not lost to later answers that lower its chance through the
   model's independence assumptions). With the defaults a sign is asked while the
   chance that it reveals an emergency is above 1 in 1000, or a less urgent level
   above 1 in 100: the old tolerances, now read as costs.

2. **Then the item that saves most**: the cost of the triage falling with the
   answer (the over-triage that stopping now would leave), plus the leader's
   part, the expected *value of information* for naming the leader:
   ``wrong_leader * E_answer[max_c P(c | e, a) - P(leader now | e, a)] / P(some
   condition | e)``, the expected fall of the chance that the leading condition is
   wrong among people who have one of the conditions. That is the misclassification
   cost the question removes, not its entropy: an answer that would only reshuffle
   conditions behind the leader, or swap two near-tied ones, is worth little; an
   answer that would reveal a rare condition's hallmark is worth its chance times
   the gain. It is divided by P(some condition | e) because a leader can only be
   right for a person who has one of the conditions: the priors describe a
   primary-care population in which, after the intake, about 98% have none of them,
   and without it the hallmark of every rare condition would look worthless.

3. **Stop** ("safe") when no item's cost exceeds one question, when nothing is left
   to ask, or at the question limit.

The costs are one step ahead (myopic), so they are lower bounds on what the rest of
the interview could save; that is why the warning-sign costs are large. Everything
is computed from the rules and the vocabulary, never from particular ids, so new
conditions, findings and rules work as they arrive.

The defaults and why (settings of the interview, not numbers of the model)
--------------------------------------------------------------------------
- ``over_triage = 100``: an unneeded visit costs a person an hour or more; a
  question takes seconds, but long questionnaires are abandoned, so a visit is put
  at 100 questions, not the thousands the time alone would give (assumption).
- ``missed_emergency = 1000``: ten unneeded visits. The triage rules of the most
  urgent level act at a probability of 0.05 to 0.1 (priors/triage.csv, the
  threshold approach: acting at p means missing is (1 - p) / p times worse than
  acting needlessly, 9 to 19 times); 10 is at the lower end, and the one-step
  costs already understate the risk (assumption).
- ``under_triage = 100``: missing a see-a-doctor level delays a diagnosis by days;
  put level with one unneeded visit (assumption; it was 1 in 100 before).
- ``wrong_leader = 300``: for a person who has one of the conditions, naming the
  wrong one first misdirects the advice and the explanation; put above one
  unneeded visit and below a missed emergency. Per person interviewed it weighs
  ``300 * P(some condition | e)``, a few questions after the intake, so until the
  evidence points to a condition it counts for less than an unneeded visit
  (assumption; 100 and 1000 were also measured on the bundled sets, see the README).
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
    SAFE: "No unanswered question is worth asking: none could change the triage or the "
          "leading condition enough to be worth its cost.",
    LIMIT: "The question limit was reached.",
    EXHAUSTED: "Every question has been asked.",
}

_COST = Interval(float, 0, None, "neither")
_TINY = 1e-300


@dataclass(frozen=True, slots=True)
class Policy:
    """What each error costs, in questions: how cautious an interview is (see the module
    docstring for the criterion and the reasoning behind each default).

    Attributes
    ----------
    missed_emergency : float, default 1000
        Stopping with the triage below the most urgent level when one more answer would
        have raised it there.
    under_triage : float, default 100
        Stopping with the triage below a less urgent level one more answer would reach.
    over_triage : float, default 100
        Stopping with the triage more urgent than one more answer would leave it.
    wrong_leader : float, default 300
        Naming the wrong condition first, for a person who has one of the conditions.
    paired : int, default 6
        Per emergency rule on a condition's posterior, how many of the answers that raise
        that posterior most are tried in pairs (the depth of the two-answer lookahead;
        each pair is one more row of one inference call per question).
    """

    missed_emergency: float = 1000.0
    under_triage: float = 100.0
    over_triage: float = 100.0
    wrong_leader: float = 300.0
    paired: int = 6

    def __post_init__(self) -> None:
        for name in ("missed_emergency", "under_triage", "over_triage", "wrong_leader"):
            check_parameter("Policy", name, getattr(self, name), _COST)
        check_parameter("Policy", "paired", self.paired, Interval(int, 0, None))

    def triage_costs(self, n_levels: int) -> np.ndarray:
        """``cost[now, after]``: stopping at level ``now`` when one more answer would give
        ``after`` (levels most urgent first)."""
        now, after = np.indices((n_levels, n_levels))
        under = np.where(after == 0, self.missed_emergency, self.under_triage)
        return np.where(after < now, under, np.where(after > now, self.over_triage, 0.0))


@dataclass(frozen=True, slots=True)
class Choice:
    """What to do next: ask ``item`` (index into the lookahead's items), or stop.

    ``purpose`` is :data:`WARNING_SIGN`, ``"most informative"`` or ``"settles the
    triage"`` (the part of the expected cost that is largest); when ``item`` is None it
    says why the interview stops. ``level`` is the triage level a warning sign could
    reach; ``risk`` the probability that matters for the purpose (the answer raising or
    lowering the triage, or changing the leader); ``cost`` the expected cost of stopping
    now that asking the item would avoid, in questions; ``gain`` the expected
    information gain in bits.
    """

    item: int | None
    purpose: str
    level: str | None = None
    risk: float = 0.0
    gain: float = 0.0
    cost: float = 0.0


def _levels(model: ModelCore, table: Lookahead) -> np.ndarray:
    """Triage level index (0 = most urgent) of every row of the lookahead table."""
    rules = model.triage_rules
    posteriors = np.nan_to_num(table.posteriors, nan=0.0)  # rows of probability zero
    return rules.levels_of(rules.fired(table.findings, posteriors, table.context))


#: A way an answer could raise the triage: the items (indices into the lookahead's items)
#: whose answers must all come, the level they reach, and the chance of those answers.
Route = tuple[list[int], int, float]


def _most_urgent(routes: list[Route], n_items: int, current: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per item, the chance and level of its most urgent route (then the likeliest); the
    level is ``current`` and the chance 0 for an item on no route."""
    chance, reach = np.zeros(n_items), np.full(n_items, current)
    for items, level, p in routes:
        for k in items:
            if (level, -p) < (reach[k], -chance[k]):
                chance[k], reach[k] = p, level
    return chance, reach


def _rule_routes(model: ModelCore, table: Lookahead, unknown: frozenset[str], current: int
                 ) -> list[Route]:
    """For rules that need several unasked items at once (findings, or context such as
    diabetes with a swelling): one route per rule, the chance that all of them are
    present (in an accepted state) and the level it would reach."""
    rules, findings, context = model.triage_rules, table.findings[0], table.context[0]
    index = {f: j for j, f in enumerate(model.findings)}
    column = {x: j for j, x in enumerate(model.context_nodes)}
    states = model.encoding.states
    f_rows, x_rows, targets = [], [], []
    for rule in rules.rules:
        level = rules.levels.index(rule.level)
        codes = [findings[index[f]] for f in rule.findings]
        open_ = [f for f, c in zip(rule.findings, codes, strict=True) if c < 0]
        row_x, blocked = context.copy(), False
        for node, accepted in rule.context:
            code = context[column[node]]
            if code >= 0:
                blocked |= states[node][code] not in accepted
                continue
            item = model.encoding.item_of(node)
            blocked |= item in unknown or len(accepted) != 1  # one state to fill in
            row_x[column[node]] = states[node].index(accepted[0])
            open_.append(item)
        if level >= current or len(open_) < 2 or 0 in codes or blocked \
                or unknown.intersection(open_):
            continue
        row = findings.copy()
        row[[index[f] for f in open_ if f in index]] = 1
        f_rows.append(row)
        x_rows.append(row_x)
        targets.append((open_, level))
    if not f_rows:
        return []
    log_z, _ = model.engine.joint(np.vstack([context, *x_rows]), np.vstack([findings, *f_rows]))
    position = {item: k for k, item in enumerate(table.items)}
    return [([position[f] for f in open_ if f in position], level,
             float(np.exp(log_p - log_z[0])))
            for (open_, level), log_p in zip(targets, log_z[1:], strict=True)]


def _posterior_routes(model: ModelCore, table: Lookahead, current: int, paired: int
                      ) -> list[Route]:
    """For emergency rules on a condition's posterior: two answers that each raise the
    posterior may cross the threshold together when neither does alone (weak foot
    pulses and vascular risk for acute ischaemia). Among the ``paired`` answers that
    raise each such posterior most, every pair of two items' answers is tried with one
    exact inference call; one route per pair that fires."""
    rules = model.triage_rules
    if current == 0:
        return []
    posteriors = np.nan_to_num(table.posteriors, nan=0.0)
    pairs: set[tuple[int, int]] = set()
    for rule in rules.rules:
        if rule.condition is None or rules.levels.index(rule.level) != 0:
            continue
        c = model.conditions.index(rule.condition)
        rise = posteriors[1:, c] - posteriors[0, c]
        top = [int(k) for k in np.argsort(-rise, kind="stable")[:paired] if rise[k] > 0]
        pairs |= {(a, b) for i, a in enumerate(top) for b in top[i + 1:]
                  if table.owner[a] != table.owner[b]}
    if not pairs:
        return []
    rows = sorted(pairs)
    first, second = [a for a, _ in rows], [b for _, b in rows]
    answered_f, answered_x = table.findings[1:], table.context[1:]
    # a's row with b's answer added (b's row differs from the evidence only there)
    f_rows = np.where(answered_f[second] != table.findings[0], answered_f[second],
                      answered_f[first])
    x_rows = np.where(answered_x[second] != table.context[0], answered_x[second],
                      answered_x[first])
    log_z, joint = model.engine.joint(np.vstack([table.context[:1], x_rows]),
                                      np.vstack([table.findings[:1], f_rows]))
    with np.errstate(invalid="ignore"):
        post = np.nan_to_num(joint[1:] / np.exp(log_z[1:])[:, None], nan=0.0)
    levels = rules.levels_of(rules.fired(f_rows, post, x_rows))
    return [([int(table.owner[a]), int(table.owner[b])], int(level),
             float(np.exp(log_p - log_z[0])))
            for (a, b), level, log_p in zip(rows, levels, log_z[1:], strict=True)
            if level < current]


def _triage_costs(model: ModelCore, table: Lookahead, unknown: frozenset[str],
                  policy: Policy, current: int, after: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per item: expected cost of stopping now if its answer would raise the triage
    (pairs of unasked findings included), the same if it would lower it, and for the
    pairs their chance and level."""
    costs = policy.triage_costs(len(model.triage_rules.levels))
    raise_cost = table.expected(np.where(after < current, costs[current, after], 0.0))
    lower_cost = table.expected(np.where(after > current, costs[current, after], 0.0))
    routes = (_rule_routes(model, table, unknown, current)
              + _posterior_routes(model, table, current, policy.paired))
    pair_chance, pair_level = _most_urgent(routes, len(table.items), current)
    raise_cost = np.maximum(raise_cost, pair_chance * costs[current, pair_level])
    return raise_cost, lower_cost, pair_chance, pair_level


def _leader_cost(table: Lookahead, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """Per item: the expected fall of P(the leader is wrong | someone has a condition)
    that its answer brings, times :attr:`Policy.wrong_leader`; and the chance that
    the answer changes the leader. The leader is the most probable diagnosis (never an
    other cause); "has a condition" is P(some diagnosis | evidence), exact
    (:attr:`~model.questions.Lookahead.p_no_diagnosis`: with other causes it is not
    1 - p_none, which counts them too and would make every leader look settled)."""
    posteriors = np.nan_to_num(table.diagnosis_posteriors, nan=0.0)  # rows of probability 0
    leader = int(posteriors[0].argmax())
    better = posteriors[1:].max(axis=1) - posteriors[1:, leader]
    some = max(1.0 - float(np.nan_to_num(table.p_no_diagnosis, nan=1.0)), _TINY)
    change = table.expected((posteriors[1:].argmax(axis=1) != leader).astype(float))
    return policy.wrong_leader * table.expected(better) / some, change


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
    raise_cost, lower_cost, pair_chance, pair_level = _triage_costs(
        model, table, unknown, policy, current, after)
    best = int(np.argmax(raise_cost))
    if raise_cost[best] > 1.0:  # 1. a warning sign worth more than its question
        raises = after < current
        reached = [int(r) for r in after[(table.owner == best) & raises]]
        level = min([int(pair_level[best]), *reached])
        chance = max(float(table.expected(raises.astype(float))[best]),
                     float(pair_chance[best]))
        return Choice(best, WARNING_SIGN, model.triage_rules.levels[level], chance,
                      float(table.information_gain()[best]), float(raise_cost[best]))
    leader_cost, change = _leader_cost(table, policy)
    total = lower_cost + leader_cost
    best = int(np.argmax(total))
    if total[best] <= 1.0:  # 3. nothing left is worth a question: stop
        return Choice(None, SAFE)
    gain = float(table.information_gain()[best])
    if lower_cost[best] > leader_cost[best]:  # 2. settles the triage, or informs
        lowers = table.expected((after > current).astype(float))
        return Choice(best, TRIAGE, risk=float(lowers[best]), gain=gain,
                      cost=float(total[best]))
    return Choice(best, INFORMATION, risk=float(change[best]), gain=gain,
                  cost=float(total[best]))
