"""The contract in C (c/, pinapi._lab.c_contract): docs/review.md's C tables
are what a fresh run of gcc, sparse and spatch gives, correct C builds clean
under every variant, and the corpus declares what every line must be."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from helpers import require_c_tools
from pinapi._lab import c_contract
from pinapi._lab.c_contract import (
    C, CError, Measurement, build_table, conversion_table, detection_table, measure, parse,
)  # fmt: skip
from pinapi._lab.blocks import generated_blocks

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "review.md"


@pytest.fixture(scope="module")
def m() -> Measurement:
    require_c_tools()
    return measure()


def test_review_c_table_is_a_fresh_run(m: Measurement) -> None:
    assert generated_blocks(DOC.read_text())["c-table"].rstrip() == build_table(m)


def test_correct_code_builds_under_every_variant(m: Measurement) -> None:
    assert m.rejected_correct == ()


def test_coccinelle_counts_are_a_fresh_run(m: Measurement) -> None:
    blocks = generated_blocks(DOC.read_text())
    assert blocks["c-conversion"].rstrip() == conversion_table(m)
    assert blocks["c-detection"].rstrip() == detection_table(m)


def test_semantic_patches_touch_only_declared_sites(m: Measurement) -> None:
    sites = {(s.path, s.line) for s in m.sites}
    assert m.converted <= sites
    assert m.detected <= sites


def test_every_misuse_class_and_2019_driver_has_its_c_file() -> None:
    for py, c in (("misuse", "misuse"), ("misuse/before", "misuse/before")):
        assert {p.stem for p in (ROOT / "examples" / py).glob("*.py")} == {p.stem for p in (C / c).glob("*.c")}


def test_every_release_line_declares_what_it_must_be() -> None:
    release = re.compile(r"\b(put_page|release_pages)\(")
    for path in sorted(C.rglob("*.c")):
        f = parse(path)
        code = {n for n, line in enumerate(f.lines, 1) if release.search(line) and not line.lstrip().startswith("*")}
        assert code == {s.line for s in f.sites}, path


def test_each_mistake_is_compiled_alone(tmp_path: Path) -> None:
    """gcc reports an undeclared call once per file; each unit still counts."""
    require_c_tools()
    src = tmp_path / "two.c"
    src.write_text('#include "pin.h"\n\nvoid a(void)\n{\n\tget_user_pages(0, 1, 0, NULL);\t/* misuse: old-api */\n}\n'
                   '\nvoid b(void)\n{\n\tget_user_pages(0, 1, 0, NULL);\t/* misuse: old-api */\n}\n')  # fmt: skip
    outcomes = c_contract._unit_outcomes(parse(src), "rename")
    assert [outcome for _, outcome, _, _ in outcomes] == ["gcc", "gcc"]


def test_a_diagnostic_off_the_marked_lines_is_an_error(tmp_path: Path) -> None:
    require_c_tools()
    src = tmp_path / "off.c"
    src.write_text('#include "pin.h"\n\nvoid a(struct page *p)\n{\n\tundeclared();\n\tput_page(p);\t/* misuse: legal; expect: ref */\n}\n')
    with pytest.raises(CError, match="not a marked line"):
        c_contract._unit_outcomes(parse(src), "convention")


def test_a_missing_tool_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "spatch" else real(name))
    assert "spatch" in c_contract.missing_tools()
    with pytest.raises(CError, match="spatch"):
        measure.__wrapped__()
