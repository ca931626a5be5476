"""Errors written for an analyst, not a programmer.

Every error the toolkit raises on purpose is a :class:`HotspotsError`, so a
notebook or the CLI can catch one type and show the message without a traceback.
"""

from __future__ import annotations


class HotspotsError(Exception):
    """Base class: something the user can fix, explained in plain words."""


class DataNotFoundError(HotspotsError, FileNotFoundError):
    """A dataset is not on disk and could not be fetched."""


class BadInputError(HotspotsError, ValueError):
    """An input table, file or argument is unusable as given."""


class UnknownPlaceError(HotspotsError, KeyError):
    """A ward or borough name/code that matches nothing; lists close matches."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""
