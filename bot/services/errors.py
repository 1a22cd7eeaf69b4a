"""Errors the services raise for things a user did; their text is shown as it is."""

from __future__ import annotations


class UserInputError(ValueError):
    """Bad input from a person: the message says what is wrong and, where it helps, how to write it."""


class NotAllowedError(UserInputError):
    """The chat may not do this (role too low, someone else's message or job)."""


class NotFoundError(UserInputError):
    """No such message or job for this chat."""
