"""docs/review.md cannot drift from the model: every deterministic block is
what ``pinapi review`` produces now."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import require_c_tools
from pinapi._lab.blocks import generated_blocks, regenerate
from pinapi._lab.review import C_SECTIONS, SECTIONS, TIMED

DOC = Path(__file__).resolve().parent.parent / "docs" / "review.md"


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_deterministic_block_matches_the_model(name: str) -> None:
    if name in C_SECTIONS:
        require_c_tools()
    committed = generated_blocks(DOC.read_text())
    assert name in committed, f"docs/review.md has no generated:{name} block"
    assert committed[name].rstrip() == SECTIONS[name]().rstrip()


def test_timed_blocks_say_which_run_and_machine() -> None:
    committed = generated_blocks(DOC.read_text())
    for name in TIMED:
        assert name in committed and " UTC on " in committed[name]


def test_regenerate_rewrites_only_named_blocks() -> None:
    text = "a\n<!-- generated:x -->\nold\n<!-- end:x -->\n<!-- generated:y -->\nkeep\n<!-- end:y -->\n"
    out = regenerate(text, {"x": lambda: "new"})
    assert out == "a\n<!-- generated:x -->\nnew\n<!-- end:x -->\n<!-- generated:y -->\nkeep\n<!-- end:y -->\n"
