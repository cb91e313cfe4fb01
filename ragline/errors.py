"""Errors that name their input and say what is wrong with it."""

from __future__ import annotations


class RaglineError(Exception):
    """Base class for every error ragline raises on purpose."""


class DocumentError(RaglineError):
    """One document could not be ingested. The batch goes on without it."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class ConfigurationError(RaglineError):
    """The configuration cannot build a working engine."""


class ModelUnavailableError(RaglineError):
    """A model or endpoint could not be loaded or reached."""


class InvalidQueryError(RaglineError, ValueError):
    """A question or its options are unusable; the message says which and why."""
