"""The interview: ask the next best question, stop when it is safe.

- :mod:`.policy`: which question comes next (warning signs first, then the most
  informative) and when to stop;
- :mod:`.session`: :class:`Interview`, the object a program drives
  (``next()``, ``answer()``, ``undo()``, ``done``, ``result``);
- :mod:`.replay`: patients from a case file who answer only what their cells hold;
- :mod:`.evaluation` and :mod:`.report`: accuracy and triage against the number of
  questions, and the report with its figure.
"""

from .policy import Policy
from .session import DONT_KNOW, INTAKE, Interview, InterviewQuestion, InterviewResult

__all__ = ["DONT_KNOW", "INTAKE", "Interview", "InterviewQuestion", "InterviewResult", "Policy"]
