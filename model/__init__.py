"""heelnet: a Bayesian network for pain at the back of the heel and ankle.

A research and teaching model, not a medical device: it gives probabilities,
never verdicts. Every number comes from ``priors/`` with its source.

Examples
--------
>>> from model import diagnose
>>> result = diagnose({"age_years": 11, "jumping_sport": True, "pain_heel_back": True,
...                    "heel_squeeze_tender": True, "swelling": False})
>>> result.ranked[0][0]
'severs_disease'
>>> result.triage in ("emergency", "see_doctor", "self_care")
True
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

# pgmpy warns about its own deprecations on import; they are not the user's concern.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"pgmpy(\.|$)")

import pandas as pd
from pgmpy.models import DiscreteBayesianNetwork

from .diagnosis import Diagnosis, Model
from .knowledge import PriorsError
from .scoring import score
from .vocabulary import HeelnetError, InvalidValueError, UnknownIdError

__all__ = [
    "Diagnosis",
    "HeelnetError",
    "InvalidValueError",
    "Model",
    "PriorsError",
    "UnknownIdError",
    "diagnose",
    "evidence",
    "network",
    "parameters",
    "score",
]


def diagnose(findings: Mapping[str, Any]) -> Diagnosis:
    """Rank the 19 conditions and triage one case with the bundled model.

    Parameters
    ----------
    findings : mapping of id to value
        Context items and findings from ``priors/vocabulary.csv``. Booleans take
        True/False, 1/0, yes/no, true/false; ``age_years`` a whole number 0-120;
        ``sex`` ``"female"`` or ``"male"``. A missing or blank item is not asked
        (marginalised), never read as absent.

    Returns
    -------
    Diagnosis
        ``ranked``, ``probabilities``, ``triage`` and ``red_flags``.

    Raises
    ------
    UnknownIdError
        For a name not in the vocabulary, with the closest valid ids.
    InvalidValueError
        For a value a variable cannot take, saying what is accepted.

    Examples
    --------
    >>> result = diagnose({"age_years": 35, "sex": "male", "pop_or_snap": True,
    ...                    "palpable_gap": True, "weak_push_off": True})
    >>> result.ranked[0][0], result.triage
    ('achilles_rupture', 'emergency')
    >>> result.red_flags[0]
    'A gap in the Achilles tendon suggests a rupture: get seen today'
    """
    return Model.default().diagnose(findings)


def network() -> DiscreteBayesianNetwork:
    """The pgmpy ``DiscreteBayesianNetwork`` behind :func:`diagnose` (a fresh copy)."""
    return Model.default().network()


def evidence(findings: Mapping[str, Any]) -> dict[str, str]:
    """The pgmpy evidence dict :func:`diagnose` conditions on, e.g. ``{'age_band': ...}``."""
    return Model.default().evidence(findings)


def parameters() -> pd.DataFrame:
    """Every number in the model, one row each, with ``source_kind`` and ``source``."""
    return Model.default().parameters()
