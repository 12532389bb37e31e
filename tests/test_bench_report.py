"""``pinapi bench --report``: the machinery that writes docs/bench.md, run at a
tiny scale into a copy; the committed document keeps every figure in a block;
the plots are SVG with axis titles and markers; usage errors are one line."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pinapi.__main__ import main
from pinapi._lab.bench_report import FOLIO_PLOT, SECTIONS, SIZE_PLOT, WORKLOADS, Workload, size_arg, write_report
from pinapi._lab.blocks import generated_blocks
from pinapi._tools import checkout
from pinapi._mm.gup_cost import COUNTERS
from pinapi._tools.bench import MODES

DOC = Path(__file__).resolve().parent.parent / "docs" / "bench.md"
SVG = "{http://www.w3.org/2000/svg}"
_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
SPREAD = re.compile(rf"({_NUMBER}) / ({_NUMBER}) / ({_NUMBER})")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of docs/bench.md, regenerated with every size divided by 64."""
    doc = tmp_path_factory.mktemp("report") / "bench.md"
    shutil.copy(DOC, doc)
    write_report(doc, scale=1 / 64)
    return doc


def tables(block: str) -> list[list[list[str]]]:
    """The markdown tables of *block*: rows of cells, the rule row left out."""
    found: list[list[list[str]]] = []
    previous = ""
    for line in block.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                found.append([])
            if not re.fullmatch(r"\|(-+:?\|)+", line):
                found[-1].append([c.strip() for c in line.strip("|").split(" | ")])
        previous = line
    return found


def stray_numbers(text: str) -> list[str]:
    """Numbers outside generated blocks and code that are not a size setting
    such as "1 GiB"."""
    for body in generated_blocks(text).values():
        text = text.replace(body, "")
    text = re.sub(r"^    .*$", "", re.sub(r"`[^`]*`|<!--.*?-->|\b[Ll]inux \d+\.\d+", "", text), flags=re.M)
    return [m[0] for m in re.finditer(r"(?<![\w.])\d[\d,.]*(?![\d,.])(?! ?(?:KiB|MiB|GiB|MB|GB)\b)", text)]


def test_every_block_is_regenerated_and_parses(report: Path) -> None:
    blocks = generated_blocks(report.read_text())
    assert set(blocks) == set(SECTIONS)
    for name, body in blocks.items():
        assert body.strip() and body != generated_blocks(DOC.read_text())[name], name
        if name not in ("machine", "memory"):
            assert "`python -m pinapi bench --size " in body, name
        for table in tables(body):
            assert len(table) > 1 and len({len(row) for row in table}) == 1, (name, table)
        for m in SPREAD.finditer(body):
            low, median, high = (float(v.replace(",", "")) for v in m.groups())
            assert low <= median <= high, (name, m[0])
    thp, counters = tables(blocks["thp-1g"])
    assert [row[0] for row in thp[1:]] == [row[0] for row in counters[1:]] == list(MODES)
    assert all(SPREAD.fullmatch(cell) for row in thp[1:] for cell in row[1:5])
    assert counters[0][1:] == [f"{name}, get / put" for name in COUNTERS]
    bvec = dict(zip(counters[0][1:], counters[1 + MODES.index("bvec")][1:]))
    assert bvec["atomics, get / put"] == bvec["entries, get / put"] == "8 / 8"  # 16 MiB: 8 THPs, a segment each
    assert "load average" in blocks["machine"] and "total run time" in blocks["machine"]
    (targets,) = tables(blocks["targets"])
    assert {row[2] for row in targets[1:]} <= {"pass", "**FAIL**", "not measured"} and len(targets) == 8


@pytest.mark.parametrize("name", [SIZE_PLOT, FOLIO_PLOT])
def test_plots_are_svg_with_axis_titles_markers_and_a_legend(report: Path, name: str) -> None:
    root = ET.parse(report.parent / name).getroot()
    assert root.tag == f"{SVG}svg"
    texts = {t.get("class"): t.text for t in root.iter(f"{SVG}text") if t.get("class") != "tick"}
    titles = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "axis-title"]
    assert len(titles) == 2 and all(titles) and texts["title"]
    markers = [c for c in root.iter(f"{SVG}circle") if c.get("class") == "marker"]
    legend = [t.text for g in root.iter(f"{SVG}g") if g.get("class") == "legend" for t in g.iter(f"{SVG}text")]
    assert markers and {f"{mode}, THP" for mode in MODES} <= set(legend)


def test_the_committed_document_has_every_block_and_no_figure_outside_them() -> None:
    text = DOC.read_text()
    assert set(generated_blocks(text)) == set(SECTIONS)
    assert stray_numbers(text) == []
    assert stray_numbers("outside: pin took 12 us on a 1 GiB region, `--size 4M` in code") == ["12"]


def test_scaled_workloads() -> None:
    assert WORKLOADS["thp-1g"].argv(1 / 64) == ["--size", "16M", "--thp", "--repeats", "5"]
    assert Workload(1 << 30, folio=1 << 30).argv(1 / 64) is None
    assert [size_arg(s) for s in (4096, 3 << 20, 1 << 30, 6144)] == ["4K", "3M", "1G", "6K"]


@pytest.mark.parametrize(("argv", "error"), [
    (["--report", "/nonexistent/bench.md"], "pinapi bench: --report /nonexistent/bench.md: No such file or directory"),
    (["--report", "{tmp}/empty.md"], "pinapi bench: --report {tmp}/empty.md: no generated block for base-1g, calls-threads"),
    (["--report", "--size", "4M"], "pinapi bench: error: --report runs its own command lines; it takes no --size"),
])  # fmt: skip
def test_bad_report_file_or_options(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], error: str) -> None:
    (tmp_path / "empty.md").write_text("# no blocks\n")
    try:
        status = main(["bench", *(a.replace("{tmp}", str(tmp_path)) for a in argv)])
    except SystemExit as e:  # the parser's usage error
        status = e.code
    out, err = capsys.readouterr()
    assert status == 2
    (line,) = err.splitlines()
    assert out == "" and line.startswith(error.replace("{tmp}", str(tmp_path)))


def test_report_outside_a_checkout(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(checkout, "in_checkout", lambda: False)
    assert main(["bench", "--report"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == ("pinapi bench: the benchmark report (--report) needs a source checkout (examples/, "
                                 "docs/ and stubs/ of the pinapi repository); an installed wheel has none\n")  # fmt: skip
