"""Errors the services raise for things a user did; their text is shown as it is."""

from __future__ import annotations


class UserInputError(ValueError):
    """Bad input from a person: the message says what is wrong and, where it helps, how to write it."""

    about_syntax = True  # the reply shows how to write the command; refusals of a well-written one do not


class RefusedError(UserInputError):
    """A well-written command that cannot be done: no usage line under it."""

    about_syntax = False


class NotAllowedError(RefusedError):
    """The chat may not do this (role too low, someone else's message or job)."""


class NotFoundError(RefusedError):
    """No such message or job for this chat."""


class QuotaExceededError(RefusedError):
    """The send would take the chat past its daily quota: refused before anything is stored or sent."""

    def __init__(self, message: str, *, limit: int, used: int, needed: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.used = used
        self.needed = needed

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)
