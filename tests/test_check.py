"""``pinapi check``: mypy and pyright against the contract, each misuse
reported with the pin rule it breaks and the call to use instead; bad input
is one line and exit 2; other type errors are reported apart and never fail;
every output format, SARIF checked against the 2.1.0 schema."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pinapi._tools.check import RULES, check as run_check
from pinapi._tools.report import FORMATS, TYPE_ERROR, Report

from sarif import validate

ROOT = Path(__file__).resolve().parent.parent
MARKERS = re.compile(r"  # (type|pyright): ignore\[[^]]*\]")

#: One misuse, as the docs and the closing note quote it.
PUT_PAGE_ON_PIN = """\
from pinapi import FOLL_WRITE, MM, VaddrPin, put_page, vaddr_pin_pages


def release(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        put_page(pins[0])
"""

#: Errors that break no pin rule: a missing annotation, a wrong call of the
#: driver's own function, its own deprecated function.
NOT_PIN_RULES = """\
from typing_extensions import deprecated

from pinapi import MM


def helper(mm: MM, n: int) -> int:
    return n


@deprecated("use helper()")
def old_helper(mm: MM) -> int:
    return 0


def untyped(mm):
    return helper(mm)


def uses_old(mm: MM) -> int:
    return old_helper(mm)
"""


def check(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pinapi", "check", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=300, env=env)  # fmt: skip


def gallery(tmp: Path, *folders: str) -> set[tuple[str, int]]:
    """Copy the misuse files of *folders* into *tmp* without their markers;
    their marked lines."""
    expected = set()
    for folder in folders:
        for src in sorted((ROOT / "examples" / folder).glob("*.py")):
            lines = src.read_text().splitlines()
            expected |= {(src.name, i) for i, line in enumerate(lines, 1) if "# type: ignore[" in line}
            (tmp / src.name).write_text("\n".join(MARKERS.sub("", line) for line in lines) + "\n")
    return expected


def reported(doc: dict[str, object]) -> set[tuple[str, int]]:
    """(file, line) of every pin-rule finding of a JSON report, its other lines too."""
    findings: list[dict[str, object]] = doc["findings"]  # type: ignore[assignment]
    return {(Path(str(f["path"])).name, n) for f in findings for n in [f["line"], *f["also"]]}  # type: ignore[misc]


def test_pyright_checks_the_paths_given(tmp_path: Path) -> None:
    from pinapi._tools.check import contract_stubs, run_pyright

    src = (ROOT / "examples" / "misuse" / "put_page_on_pin.py").read_text()
    (tmp_path / "driver.py").write_text(MARKERS.sub("", src))
    diags = run_pyright([str(tmp_path / "driver.py")], contract_stubs())
    assert [(d.line, d.code) for d in diags] == [(12, "reportArgumentType"), (18, "reportArgumentType")]


def test_clean_code_exits_0(tmp_path: Path) -> None:
    r = check(ROOT / "examples" / "ok", "--cache-dir", tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "pinapi check: clean (mypy, pyright and balance)\n" and r.stderr == ""


@pytest.mark.parametrize("folders", [("misuse",), ("misuse/before",)], ids=["gallery", "2019 code"])
def test_every_misuse_is_one_pin_rule_finding_from_both_checkers(tmp_path: Path, folders: tuple[str, ...]) -> None:
    """The gallery and the 2019 code without their markers, as a driver would
    have them: every offending line is reported with a pin rule, each finding
    is named by mypy and by pyright, nothing is a bare type error."""
    expected = gallery(tmp_path, *folders)
    r = check(".", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    # what the balance analysis finds in this code is measured in tests/test_balance.py
    doc["findings"] = [f for f in doc["findings"] if f["tools"] != ["balance"]]
    assert reported(doc) == expected
    assert doc["type_errors"] == [], doc["type_errors"]
    assert all(f["tools"] == ["mypy", "pyright"] for f in doc["findings"]), "a checker missed a misuse"
    assert {f["rule"] for f in doc["findings"]} <= set(RULES) - {TYPE_ERROR}


def test_each_rule_is_named_once_per_line(tmp_path: Path) -> None:
    """put_page() on a pin, flagged by both checkers, is one finding naming
    each; the deprecated get_user_pages() (mypy at the import, pyright at the
    call) is one finding for the file."""
    (tmp_path / "put.py").write_text(PUT_PAGE_ON_PIN)
    (tmp_path / "gup.py").write_text(
        "from pinapi import MM, get_user_pages, kthread_use_mm, put_page\n\n\n"
        "def f(mm: MM, buf: int) -> None:\n"
        "    with kthread_use_mm(mm):\n"
        "        pages = get_user_pages(buf, 1, 0)\n"
        "    put_page(pages[0])\n"
    )
    r = check(".", "--format", "json", cwd=tmp_path)
    doc = json.loads(r.stdout)
    rows = [(f["path"], f["line"], f["col"], f["rule"], f["tools"], f["also"]) for f in doc["findings"]]
    assert rows == [
        ("gup.py", 1, 1, "pin-gup-deprecated", ["mypy", "pyright"], [6]),
        ("put.py", 6, 18, "pin-put-page-on-pin", ["mypy", "pyright"], []),
    ]
    assert doc["counts"] == {"findings": 2, "type_errors": 0} and r.returncode == 1


def test_type_errors_that_break_no_pin_rule_do_not_fail(tmp_path: Path) -> None:
    (tmp_path / "driver.py").write_text(NOT_PIN_RULES)
    r = check("driver.py", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ": error:" not in r.stdout and r.stdout.count(": warning: ") == 3, r.stdout
    assert all(line.endswith("[type-error]") for line in r.stdout.splitlines() if ": warning: " in line)
    assert r.stdout.endswith("pinapi check: no pin-rule finding, 3 type errors that break no pin rule (mypy, pyright and balance)\n")
    (tmp_path / "misuse.py").write_text(PUT_PAGE_ON_PIN)
    doc = json.loads(check(".", "--format", "json", cwd=tmp_path).stdout)
    assert doc["counts"] == {"findings": 1, "type_errors": 3} and doc["exit_status"] == 1
    assert [(f["line"], f["rule"]) for f in doc["type_errors"]] == [(15, TYPE_ERROR), (16, TYPE_ERROR), (20, TYPE_ERROR)]


# -- bad input -----------------------------------------------------------------------
def _bad(tmp: Path, case: str) -> list[str]:
    """Lay out one bad input in *tmp*; the arguments that pass it."""
    if case == "syntax error":
        (tmp / "driver.py").write_text("def probe(:\n    pass\n")
        return ["driver.py"]
    if case == "empty directory":
        (tmp / "drivers").mkdir()
        (tmp / "drivers" / "README").write_text("nothing to check\n")
        return ["drivers"]
    if case in ("notes.txt", "Makefile"):
        (tmp / case).write_text("all:\n")
        return [case]
    if case == "same module twice":
        for folder in ("gpu", "net"):
            (tmp / folder).mkdir()
            (tmp / folder / "driver.py").write_text("X: int = 1\n")
        return ["gpu", "net"]
    if case == "missing path":
        return ["no/such/driver.py"]
    if case == "no path":
        return []
    if case == "unknown format":
        (tmp / "driver.py").write_text("X: int = 1\n")
        return ["--format", "xml", "driver.py"]
    if case == "unknown checker":
        (tmp / "driver.py").write_text("X: int = 1\n")
        return ["--checker", "pyre", "driver.py"]
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["syntax error", "empty directory", "notes.txt", "Makefile", "same module twice",
                                  "missing path", "no path", "unknown format", "unknown checker"])  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    r = check(*_bad(tmp_path, case), cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == "", r.stdout + r.stderr
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("pinapi check: "), r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(("case", "said"), [
    ("syntax error", "driver.py:1:11: syntax error: invalid syntax"),
    ("empty directory", "drivers: no Python source (.py or .pyi) in this directory"),
    ("Makefile", "Makefile: not Python source (.py or .pyi)"),
    ("same module twice", "gpu/driver.py and net/driver.py are both module 'driver' to mypy: check them in separate "
                          "runs, or make their folders packages (__init__.py)"),
    ("missing path", "no/such/driver.py: no such file or directory"),
])  # fmt: skip
def test_bad_input_names_the_problem(tmp_path: Path, case: str, said: str) -> None:
    assert check(*_bad(tmp_path, case), cwd=tmp_path).stderr == f"pinapi check: {said}\n"


def test_folders_skip_hidden_ones_caches_and_virtual_environments(tmp_path: Path) -> None:
    from pinapi._tools.check import collect_sources

    for folder in (".git", "__pycache__", "venv"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "broken.py").write_text("def (:\n")
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "driver.py").write_text("X: int = 1\n")
    assert collect_sources([str(tmp_path)]) == [tmp_path / "driver.py"]


def _fake_node(tmp: Path) -> dict[str, str]:
    """An environment where pyright finds only a node that cannot run."""
    import os

    (tmp / "bin").mkdir()
    node = tmp / "bin" / "node"
    node.write_text("#!/bin/sh\necho 'node: error while loading shared libraries: libnode.so.115' >&2\nexit 127\n")
    node.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp / 'bin'}:{os.environ['PATH']}", "PYRIGHT_PYTHON_NODEJS_WHEEL": "0"}


def test_pyright_without_a_working_node_leaves_mypy_to_run(tmp_path: Path) -> None:
    env = _fake_node(tmp_path)
    (tmp_path / "driver.py").write_text(PUT_PAGE_ON_PIN)
    r = check("driver.py", cwd=tmp_path, env=env)
    assert r.returncode == 1 and r.stdout.endswith("pinapi check: 1 pin-rule finding (mypy and balance)\n"), r.stdout + r.stderr
    (warning,) = r.stderr.splitlines()
    assert warning.startswith("pinapi check: warning: pyright cannot start: node: error while loading")
    assert "checked with mypy only" in warning
    r = check("--checker", "pyright", "driver.py", cwd=tmp_path, env=env)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "no type checker can start" in r.stderr


def test_without_mypy_pyright_runs(tmp_path: Path) -> None:
    """mypy not importable (as in an environment without it): a warning, and
    pyright alone finds the misuse."""
    (tmp_path / "driver.py").write_text(PUT_PAGE_ON_PIN)
    code = "import sys; sys.modules['mypy'] = None; from pinapi.__main__ import main; sys.exit(main(sys.argv[1:]))"
    r = subprocess.run([sys.executable, "-c", code, "check", "driver.py"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 1 and r.stdout.endswith("(pyright and balance)\n"), r.stdout + r.stderr
    assert r.stderr.startswith("pinapi check: warning: mypy is not installed; checked with pyright only")
    r = subprocess.run([sys.executable, "-c", code, "check", "--checker", "mypy", "driver.py"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert (r.returncode, r.stdout) == (2, "") and r.stderr.startswith("pinapi check: no type checker can start: mypy")


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_one_checker_chosen(tmp_path: Path, checker: str) -> None:
    (tmp_path / "driver.py").write_text(PUT_PAGE_ON_PIN)
    r = check("--checker", checker, "driver.py", cwd=tmp_path)
    assert r.returncode == 1 and r.stdout.endswith(f"pinapi check: 1 pin-rule finding ({checker} and balance)\n")
    assert f"note: {checker}: " in r.stdout and r.stdout.count(": note: ") == 2


# -- formats ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def one_misuse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    """The report on a tree with one misuse, made from inside that tree."""
    import os

    tree = tmp_path_factory.mktemp("tree")
    (tree / "driver.py").write_text(PUT_PAGE_ON_PIN)
    cwd = Path.cwd()
    os.chdir(tree)
    try:
        yield run_check(["driver.py"], cache=tree / ".cache")
    finally:
        os.chdir(cwd)


def test_text_format(one_misuse: Report) -> None:
    assert FORMATS["text"](one_misuse).splitlines() == [
        "driver.py:6:18: error: put_page() and the plain-reference calls cannot release a pin taken by "
        "vaddr_pin_pages() [pin-put-page-on-pin]",
        "driver.py:6:18: note: use unpin_user_page() / unpin_user_pages() / unpin_user_pages_dirty_lock()",
        'driver.py:6:18: note: mypy: Argument 1 to "put_page" has incompatible type "PinnedPage[Write]"; expected '
        '"Page | KernelPage" [arg-type]',
        'driver.py:6:18: note: pyright: Argument of type "PinnedPage[Write]" cannot be assigned to parameter "page" of '
        'type "Page | KernelPage" in function "put_page" [reportArgumentType]',
        "pinapi check: 1 pin-rule finding (mypy, pyright and balance)",
    ]


def test_json_format(one_misuse: Report) -> None:
    doc = json.loads(FORMATS["json"](one_misuse))
    assert doc["tools"] == ["mypy", "pyright", "balance"] and doc["exit_status"] == 1 and doc["type_errors"] == []
    (finding,) = doc["findings"]
    assert {k: finding[k] for k in ("path", "line", "col", "rule")} == {
        "path": "driver.py", "line": 6, "col": 18, "rule": "pin-put-page-on-pin"}  # fmt: skip
    assert [(d["tool"], d["code"]) for d in finding["diagnostics"]] == [("mypy", "arg-type"), ("pyright", "reportArgumentType")]


def test_sarif_format_is_valid_sarif_2_1_0(one_misuse: Report) -> None:
    doc = json.loads(FORMATS["sarif"](one_misuse))
    assert validate(doc) == []
    (result,) = doc["runs"][0]["results"]
    assert result["ruleId"] == "pin-put-page-on-pin" and result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 6, "startColumn": 18}
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": "driver.py", "uriBaseId": "%SRCROOT%"}


def test_sarif_check_catches_what_the_schema_forbids() -> None:
    """The SARIF check itself: each broken copy of a valid log is caught."""
    good = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "pinapi", "rules": [{"id": "r"}]}}, "results": [
        {"ruleId": "r", "ruleIndex": 0, "message": {"text": "m"}, "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": "a.py", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 1}}}]}],
        "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///w/"}}}]}  # fmt: skip
    assert validate(good) == []
    broken = [
        {**good, "version": "2.0.0"},
        {"runs": good["runs"]},
        {**good, "extra": 1},
        json.loads(json.dumps(good).replace('"startLine": 1', '"startLine": 0')),
        json.loads(json.dumps(good).replace('"message": {"text": "m"}', '"message": {}')),
        json.loads(json.dumps(good).replace('"ruleIndex": 0', '"ruleIndex": 0, "severity": "high"')),
        json.loads(json.dumps(good).replace('"name": "pinapi", ', "")),
        json.loads(json.dumps(good).replace('"uriBaseId": "%SRCROOT%"', '"uriBaseId": "ROOT"')),
    ]
    assert all(validate(doc) for doc in broken)


def test_sarif_with_type_errors_and_warnings_is_valid(tmp_path: Path) -> None:
    (tmp_path / "driver.py").write_text(NOT_PIN_RULES + "\n\n" + PUT_PAGE_ON_PIN.split("\n\n\n")[1])
    (tmp_path / "gup.py").write_text(MARKERS.sub("", (ROOT / "examples/misuse/before/before_futex.py").read_text()))
    r = check(".", "--format", "sarif", cwd=tmp_path, env=_fake_node(tmp_path))
    doc = json.loads(r.stdout)
    assert validate(doc) == []
    run = doc["runs"][0]
    assert {res["level"] for res in run["results"]} == {"error", "warning"}
    assert any("relatedLocations" in res for res in run["results"])
    (notification,) = run["invocations"][0]["toolExecutionNotifications"]
    assert notification["message"]["text"].startswith("pyright cannot start: ")


def test_github_format(one_misuse: Report) -> None:
    lines = FORMATS["github"](one_misuse).splitlines()
    assert lines[0].startswith("::error file=driver.py,line=6,col=18,title=pinapi [pin-put-page-on-pin]::put_page()")
    assert "%0Ause unpin_user_page()" in lines[0] and '%0Amypy: Argument 1 to "put_page"' in lines[0]
    assert lines[1:] == ["pinapi check: 1 pin-rule finding (mypy, pyright and balance)"]


def test_daemon_gives_the_same_findings(tmp_path: Path) -> None:
    """--daemon leaves a dmypy running between checks (stopped here by its
    status file): a re-check after an edit sees the edit."""
    (tmp_path / "driver.py").write_text(PUT_PAGE_ON_PIN)
    status = tmp_path / ".pinapi_cache" / "dmypy.json"
    try:
        first = check("--checker", "mypy", "--daemon", "driver.py", cwd=tmp_path)
        assert first.returncode == 1 and status.is_file(), first.stdout + first.stderr
        assert first.stdout == check("--checker", "mypy", "driver.py", cwd=tmp_path).stdout
        (tmp_path / "driver.py").write_text(PUT_PAGE_ON_PIN.replace("put_page(pins[0])", "pins[0].write(0, b'x')"))
        again = check("--checker", "mypy", "--daemon", "driver.py", cwd=tmp_path)
        assert (again.returncode, again.stdout) == (0, "pinapi check: clean (mypy and balance)\n"), again.stdout + again.stderr
    finally:
        subprocess.run([sys.executable, "-m", "mypy.dmypy", "--status-file", status, "stop"],
                       capture_output=True, timeout=60)  # fmt: skip


def test_every_rule_is_documented() -> None:
    doc = (ROOT / "docs" / "check.md").read_text()
    rows = [f"| `{r.id}` | {r.summary} | {r.instead or '-'} |" for r in RULES.values()]
    assert [row for row in rows if row not in doc.splitlines()] == []
    for status in ("0", "1", "2"):
        assert f"| {status} |" in doc


def test_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "pinapi"
    r = subprocess.run([script, "check", "--checker", "mypy", "--cache-dir", tmp_path, "examples/ok/kernel_page.py"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 0 and r.stdout == "pinapi check: clean (mypy and balance)\n", r.stdout + r.stderr
    assert (tmp_path / "mypy").is_dir() and (tmp_path / ".gitignore").read_text().endswith("*\n")
