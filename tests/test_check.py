"""``pinapi check``: mypy and pyright against the contract, each misuse
reported with the pin rule it breaks and the call to use instead."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKERS = re.compile(r"  # (type|pyright): ignore\[[^]]*\]")


def check(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pinapi", "check", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=300)  # fmt: skip


def test_pyright_checks_the_paths_given(tmp_path: Path) -> None:
    from pinapi._tools.check import contract_stubs, run_pyright

    src = (ROOT / "examples" / "misuse" / "put_page_on_pin.py").read_text()
    (tmp_path / "driver.py").write_text(MARKERS.sub("", src))
    diags = run_pyright([str(tmp_path / "driver.py")], contract_stubs())
    assert [(d.line, d.code) for d in diags] == [(12, "reportArgumentType"), (18, "reportArgumentType")]


def test_clean_code_exits_0() -> None:
    r = check("examples/ok")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "pinapi check: clean (mypy and pyright)"


def test_every_misuse_is_reported_with_its_rule(tmp_path: Path) -> None:
    """The gallery without its markers, as a driver would have it: every
    offending line is reported, by file:line, with a pin rule and a fix, and
    no report falls back to a bare type error."""
    expected = set()
    for src in sorted((ROOT / "examples" / "misuse").glob("*.py")):
        lines = src.read_text().splitlines()
        expected |= {(src.name, i) for i, line in enumerate(lines, 1) if "# type: ignore[" in line}
        (tmp_path / src.name).write_text("\n".join(MARKERS.sub("", line) for line in lines) + "\n")
    r = check(".", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    reports = re.findall(r"^(\w+\.py):(\d+): (.+?); use (.+?)  \[(mypy|pyright) ", r.stdout, re.M)
    assert {(f, int(n)) for f, n, *_ in reports} >= expected
    assert "not a pin rule" not in r.stdout, r.stdout
    assert {checker for *_, checker in reports} == {"mypy"}, "pyright found a line or a rule mypy did not"
    assert len(reports) == len(expected), r.stdout
    put_page = [rule for f, n, rule, *_ in reports if (f, n) == ("put_page_on_pin.py", "12")]
    assert put_page == ["put_page() and the plain-reference calls cannot release a pin taken by vaddr_pin_pages()"]


@pytest.mark.parametrize("args", [(), ("no/such/driver.py",), ("--bogus", "examples")])
def test_usage_errors_exit_2(args: tuple[str, ...]) -> None:
    r = check(*args)
    assert r.returncode == 2 and r.stderr


def test_console_script() -> None:
    script = Path(sys.executable).parent / "pinapi"
    r = subprocess.run([script, "check", "--mypy-only", "examples/ok/kernel_page.py"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0 and r.stdout.strip() == "pinapi check: clean (mypy)", r.stdout + r.stderr
