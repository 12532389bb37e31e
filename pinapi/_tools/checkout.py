"""Where the source checkout is, if pinapi runs from one."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from . import CommandError

__all__ = ["ROOT", "in_checkout", "require_checkout"]

#: The repository root when pinapi is imported from a source tree.
ROOT: Final = Path(__file__).resolve().parents[2]


def in_checkout() -> bool:
    """pinapi runs from a source tree: examples/, docs/ and stubs/ are there."""
    return all((ROOT / d).is_dir() for d in ("examples", "docs", "stubs")) and (ROOT / "pyproject.toml").is_file()


def require_checkout(what: str) -> None:
    """CommandError (one line, exit 2) when *what* needs the source tree and
    this is an installed pinapi."""
    if not in_checkout():
        raise CommandError(f"{what} needs a source checkout (examples/, docs/ and stubs/ of the "
                           "pinapi repository); an installed wheel has none")  # fmt: skip
