"""One exception root for imagehunt; every error can say which file and line it is about."""

from __future__ import annotations

from pathlib import Path


class ImagehuntError(Exception):
    """Root of every error imagehunt raises on purpose.

    ``file`` and ``line`` locate the input that caused it (a log, a rule, a config);
    ``hint`` tells the user what to try next.
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.hint = hint
        super().__init__(self.__str__())

    @property
    def location(self) -> str:
        """``file:line``, ``file`` or an empty string."""
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class UsageError(ImagehuntError):
    """The command line asks for something that cannot be done."""

    exit_code = 2


class RuleError(ImagehuntError):
    """A Sigma rule or indicator list cannot be loaded or compiled."""

    exit_code = 3


class ConfigError(ImagehuntError):
    """The user's config file is invalid."""

    exit_code = 3


class InputError(ImagehuntError):
    """An input log cannot be read at all, or a record in it is malformed."""

    exit_code = 4


class ImageError(ImagehuntError):
    """An image archive or image name cannot be inspected."""

    exit_code = 4
