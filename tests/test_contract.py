"""The typed contract: mypy and pyright (strict) accept examples/ok and reject
every marked line of examples/misuse, against the source tree and against the
installed wheel; stubtest keeps stubs/ and pinapi/ in step."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from pinapi._lab.checker_table import CHECKERS_DOC, table

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MISUSE = sorted((EXAMPLES / "misuse").glob("*.py"))
PY = sys.executable
PYRIGHT_CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pyright"]


def run(*cmd: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_every_misuse_file_marks_its_lines_for_both_checkers() -> None:
    """Each gallery file has offending lines, and each offending line names the
    error it expects from mypy and from pyright: an unmarked line is an error in
    both, a marked line that stops being rejected fails both."""
    assert len(MISUSE) >= 13
    for path in MISUSE:
        marked = [line for line in path.read_text().splitlines() if "# type: ignore[" in line]
        assert marked, f"{path.name} rejects nothing"
        for line in marked:
            assert "# pyright: ignore[" in line, f"{path.name}: no pyright marker on {line.strip()!r}"


def test_mypy_source_tree() -> None:
    r = run(PY, "-m", "mypy", "--config-file", ROOT / "mypy.ini", "examples")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"no issues found in \d+ source files", r.stdout)


def test_mypy_strict_on_the_package() -> None:
    """The run time itself is mypy --strict clean (mypy.ini)."""
    r = run(PY, "-m", "mypy", "--config-file", ROOT / "mypy.ini", "pinapi")
    assert r.returncode == 0, r.stdout + r.stderr


def test_pyright_source_tree() -> None:
    r = run(PY, "-m", "pyright", "--outputjson", "-p", ROOT / "pyproject.toml")
    report = json.loads(r.stdout)
    assert report["generalDiagnostics"] == [] and r.returncode == 0
    assert report["summary"]["filesAnalyzed"] == len(list(EXAMPLES.rglob("*.py")))


def test_stubtest() -> None:
    """stubs/pinapi matches the run time; the allowlist holds only deliberate
    strictness (each entry commented)."""
    allowlist = ROOT / "stubs" / "stubtest-allowlist.txt"
    commented = False
    for line in allowlist.read_text().splitlines():
        commented = bool(line) and (commented or line.startswith("#"))
        assert commented or not line, f"allowlist entry without a comment saying why: {line}"
    r = run(PY, "-m", "mypy.stubtest", "pinapi", "--mypy-config-file", ROOT / "mypy.ini",
            "--allowlist", allowlist)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="session")
def installed_wheel(dist: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """The wheel installed alone (no checkers) into a fresh virtual
    environment; yields (its python, a copy of examples/ outside the tree)."""
    _, wheel = dist
    tmp = tmp_path_factory.mktemp("wheel")
    venv.create(tmp / "venv", with_pip=False)
    python = tmp / "venv" / "bin" / "python"
    r = run(PY, "-m", "pip", "--python", python, "install", "-q", wheel)
    assert r.returncode == 0, r.stderr
    work = tmp / "user"
    shutil.copytree(EXAMPLES, work / "examples")
    yield python, work


def test_wheel_ships_the_contract(installed_wheel: tuple[Path, Path]) -> None:
    python, _ = installed_wheel
    r = run(python, "-c", "import pinapi, sysconfig; print(sysconfig.get_paths()['purelib'])")
    assert r.returncode == 0, r.stderr
    site = Path(r.stdout.strip())
    assert (site / "pinapi-stubs" / "__init__.pyi").read_text() == (ROOT / "stubs/pinapi/__init__.pyi").read_text()


def test_mypy_installed_wheel(installed_wheel: tuple[Path, Path]) -> None:
    python, work = installed_wheel
    config = (ROOT / "mypy.ini").read_text().replace("mypy_path = stubs\n", "")
    (work / "mypy.ini").write_text(config)
    r = run(PY, "-m", "mypy", "--python-executable", python, "examples", cwd=work)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"no issues found in \d+ source files", r.stdout)


def test_pyright_installed_wheel(installed_wheel: tuple[Path, Path]) -> None:
    python, work = installed_wheel
    config = {k: v for k, v in PYRIGHT_CONFIG.items() if k != "stubPath"}
    (work / "pyrightconfig.json").write_text(json.dumps(config))
    r = run(PY, "-m", "pyright", "--outputjson", "--pythonpath", python, cwd=work)
    report = json.loads(r.stdout)
    assert report["generalDiagnostics"] == [] and r.returncode == 0
    assert report["summary"]["filesAnalyzed"] == len(list((work / "examples").rglob("*.py")))


def test_checkers_table_is_current() -> None:
    """docs/checkers.md is what a fresh run of the four checkers gives, and
    mypy and pyright reject every marked line of every misuse class."""
    text, complete = table()
    assert complete["mypy"] and complete["pyright"], text
    assert CHECKERS_DOC.read_text() == text, "stale: run python -m pinapi review"


def test_checkers_are_the_pinned_versions() -> None:
    """The checkers that ran are the ones pyproject.toml pins: the table and
    the markers are only meaningful for those versions."""
    from importlib.metadata import version

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "pinapi[check]" in extras["dev"]
    pinned = [d for d in extras["check"] + extras["dev"] if "==" in d]
    pins = dict(re.fullmatch(r"([\w-]+)(?:\[\w+\])?==(.+)", d).groups() for d in pinned)  # type: ignore[union-attr]
    for checker in ("mypy", "pyright", "pyrefly", "ty"):
        assert version(checker) == pins[checker], checker


def test_a_loosened_contract_fails_the_gallery(tmp_path: Path) -> None:
    """If put_page() accepted pins, the gallery's put_page lines would stop
    being rejected, and both checkers fail the run on their markers."""
    stub = (ROOT / "stubs/pinapi/__init__.pyi").read_text()
    loose = stub.replace("def put_page(page: Page | KernelPage) -> None:", "def put_page(page: object) -> None:")
    assert loose != stub
    (tmp_path / "stubs" / "pinapi").mkdir(parents=True)
    (tmp_path / "stubs" / "pinapi" / "__init__.pyi").write_text(loose)
    shutil.copy(EXAMPLES / "misuse" / "put_page_on_pin.py", tmp_path / "driver.py")
    (tmp_path / "mypy.ini").write_text((ROOT / "mypy.ini").read_text())
    (tmp_path / "pyrightconfig.json").write_text(json.dumps(PYRIGHT_CONFIG | {"include": ["driver.py"]}))
    r = run(PY, "-m", "mypy", "driver.py", cwd=tmp_path)
    assert r.returncode == 1 and r.stdout.count('Unused "type: ignore" comment') == 2, r.stdout
    r = run(PY, "-m", "pyright", "--outputjson", cwd=tmp_path)
    rules = [d["rule"] for d in json.loads(r.stdout)["generalDiagnostics"] if d["severity"] == "error"]
    assert rules == ["reportUnnecessaryTypeIgnoreComment"] * 2, rules


def test_pinapi_check_from_the_installed_wheel(installed_wheel: tuple[Path, Path]) -> None:
    """A user with pinapi and no checker, then mypy alone, and no source
    tree: each missing checker is named, and the console script finds the
    contract in pinapi-stubs."""
    python, work = installed_wheel
    src = (EXAMPLES / "misuse" / "put_page_on_pin.py").read_text()
    (work / "driver.py").write_text(re.sub(r"  # (type|pyright): ignore\[[^]]*\]", "", src))
    r = run(python.parent / "pinapi", "check", "driver.py", cwd=work)
    assert (r.returncode, r.stdout) == (2, ""), r.stderr
    assert r.stderr.startswith("pinapi check: no type checker can start: mypy is not installed; "
                               "pyright is not installed (pip install 'pinapi[check]'")  # fmt: skip
    check = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["check"]
    (mypy_pin,) = [d for d in check if d.startswith("mypy==")]
    r = run(PY, "-m", "pip", "--python", python, "install", "-q", mypy_pin)
    assert r.returncode == 0, r.stderr
    r = run(python.parent / "pinapi", "check", "driver.py", cwd=work)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stderr.startswith("pinapi check: warning: pyright is not installed; checked with mypy only")
    assert r.stdout.count("error: put_page() and the plain-reference calls cannot release a pin") == 2
    r = run(python.parent / "pinapi", "check", "examples/ok", cwd=work)
    assert (r.returncode, r.stdout) == (0, "pinapi check: clean (mypy and balance)\n"), r.stdout + r.stderr


def test_every_public_name_of_the_contract_states_its_rule_in_one_line() -> None:
    """The first definition of each name states it; the overloads after it share it."""
    tree = ast.parse((ROOT / "stubs/pinapi/__init__.pyi").read_text())
    defs: dict[str, ast.FunctionDef | ast.ClassDef] = {}
    for n in tree.body:
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_"):
            defs.setdefault(n.name, n)
    assert len(defs) > 40
    for node in defs.values():
        doc = ast.get_docstring(node)
        assert doc and "\n" not in doc, node.name


def test_balance_and_its_pytest_plugin_from_the_installed_wheel(installed_wheel: tuple[Path, Path]) -> None:
    """The balance analysis finds the contract in pinapi-stubs; the plugin
    loads from the wheel's pytest11 entry point and fails a leaking test."""
    python, work = installed_wheel
    r = run(python, "-c", "from pathlib import Path; from pinapi._tools.balance import analyze_paths; "
            "print(len(analyze_paths([Path('examples/balance')])))", cwd=work)  # fmt: skip
    assert r.returncode == 0 and int(r.stdout) >= 25, r.stdout + r.stderr
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    (pytest_pin,) = [d for d in dev if d.startswith("pytest==")]
    assert run(PY, "-m", "pip", "--python", python, "install", "-q", pytest_pin).returncode == 0
    (work / "plugin").mkdir()
    (work / "plugin" / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\npinapi_balance = true\n")
    (work / "plugin" / "test_leak.py").write_text(
        "from pinapi import MM, VaddrPin, vaddr_pin_pages\n\n"
        "def test_leak():\n    mm = MM('t')\n    assert vaddr_pin_pages(mm.mmap(4096), 1, 0, VaddrPin(mm=mm))\n"
    )
    r = run(python, "-m", "pytest", cwd=work / "plugin")
    assert r.returncode == 1 and "test_leak.py:5 (test_leak)" in r.stdout, r.stdout + r.stderr
