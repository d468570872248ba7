"""heelnet's errors: each says what was wrong, what is accepted and, for names, the
closest valid ids. All subclass ``ValueError``."""

from __future__ import annotations

__all__ = ["HeelnetError", "InvalidValueError", "PriorsError", "UnknownIdError"]


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
