"""heelnet's errors: each says what was wrong, what is accepted and, for names, the
closest valid ids. All subclass ``ValueError``."""

from __future__ import annotations

__all__ = ["HeelnetError", "ImpossibleEvidenceError", "InvalidValueError", "PriorsError",
           "UnknownIdError"]


class HeelnetError(ValueError):
    """Base class of heelnet's errors about what a caller gave it."""


class UnknownIdError(HeelnetError, KeyError):
    """A name that is not in the vocabulary (a misspelled finding, say)."""

    def __str__(self) -> str:  # KeyError would quote the message again
        return str(self.args[0]) if self.args else ""


class InvalidValueError(HeelnetError):
    """A known variable with a value it cannot take (``'maybe'``, age 250)."""


class PriorsError(HeelnetError):
    """A problem in the knowledge base; the message names the file and line."""


class ImpossibleEvidenceError(HeelnetError):
    """Findings that the model says cannot occur together (probability 0), so no
    posterior exists; the message names a smallest such set. Only an edited model
    (a likelihood or leak of 0 or 1) can give one."""
