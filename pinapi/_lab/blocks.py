"""Generated blocks in a document: each sits between ``<!-- generated:NAME -->``
and ``<!-- end:NAME -->`` and is rewritten from scratch by the section
function of that name; the prose around the blocks is left as it is."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Final

__all__ = ["regenerate", "generated_blocks"]

_BLOCK: Final = re.compile(r"(<!-- generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end:(?P=name) -->)", re.S)


def regenerate(text: str, sections: Mapping[str, Callable[[], str]]) -> str:
    """*text* with every generated block named in *sections* rewritten."""

    def sub(m: re.Match[str]) -> str:
        fn = sections.get(m["name"])
        return m[0] if fn is None else f"{m[1]}{fn().rstrip()}\n{m[4]}"

    return _BLOCK.sub(sub, text)


def generated_blocks(text: str) -> dict[str, str]:
    """Name -> body of every generated block in *text*."""
    return {m["name"]: m["body"] for m in _BLOCK.finditer(text)}
