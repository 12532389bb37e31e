"""Tools a user runs on their own code; they ship in the wheel."""

from __future__ import annotations

__all__ = ["CommandError"]


class CommandError(Exception):
    """A bad command line, a bad input, or a tool that failed on it: the
    command line prints it as one line and exits 2."""
