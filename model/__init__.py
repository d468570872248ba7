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

from .api import (
    Diagnosis,
    Model,
    diagnose,
    evaluate,
    evidence,
    export_network,
    network,
    parameters,
    score,
    sensitivity,
    simulate,
    sweep,
)
from .errors import (
    HeelnetError,
    ImpossibleEvidenceError,
    InvalidValueError,
    PriorsError,
    UnknownIdError,
)
from .explain import Explanation, explain
from .interview import Interview
from .metrics import Summary
from .questions import Question, next_questions
from .sensitivity import Sensitivity
from .sweeps import scale_baseline, widen_age_window

__all__ = [
    "Diagnosis",
    "Explanation",
    "HeelnetError",
    "ImpossibleEvidenceError",
    "Interview",
    "InvalidValueError",
    "Model",
    "PriorsError",
    "Question",
    "Sensitivity",
    "Summary",
    "UnknownIdError",
    "diagnose",
    "evaluate",
    "evidence",
    "explain",
    "export_network",
    "network",
    "next_questions",
    "parameters",
    "scale_baseline",
    "score",
    "sensitivity",
    "simulate",
    "sweep",
    "widen_age_window",
]
