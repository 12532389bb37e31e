"""The built artifacts as a user gets them. The wheel installed with
``pinapi[check]`` into a fresh virtual environment: ``pinapi check`` in every
format on a driver tree with and without misuse, and every subcommand (the
source-checkout ones refuse in one line). The sdist: it ships what its own
tests read, and they pass unpacked.

Offline: the environment gets the checkers the [check] extra names from this
one (their installed files, hard-linked), and pip installs pinapi[check] from
the wheel with no index, finding those already satisfied."""

from __future__ import annotations

import email
import json
import os
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile
from importlib.metadata import Distribution, distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from sarif import validate

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
from pinapi import FOLL_WRITE, MM, VaddrPin, unpin_user_pages_dirty_lock, vaddr_pin_pages


def dma_to_user(mm: MM, buf: int, data: bytes) -> None:
    pins = vaddr_pin_pages(buf, 1, FOLL_WRITE, VaddrPin(mm=mm))
    pins[0].write(0, data)
    unpin_user_pages_dirty_lock(pins, make_dirty=True)


def scenario() -> None:
    mm = MM("user")
    buf = mm.mmap(4096)
    dma_to_user(mm, buf, b"DMA")
    assert mm.read(buf, 3) == b"DMA"
"""

BAD = """\
from pinapi import FOLL_WRITE, MM, VaddrPin, put_page, vaddr_pin_pages


def release(mm: MM, buf: int) -> None:
    with vaddr_pin_pages(buf, 1, FOLL_WRITE, VaddrPin(mm=mm)) as pins:
        put_page(pins[0])
"""


def _needed(requirements: list[str], extras: frozenset[str]) -> dict[str, Distribution]:
    """The distributions of this environment that pip would install for
    *requirements* (with *extras*), recursively."""
    found: dict[str, Distribution] = {}
    todo = [(requirements, extras)]
    while todo:
        texts, active = todo.pop()
        for text in texts:
            req = Requirement(text)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in active or {""}):
                continue
            if req.name.lower() not in found:
                found[req.name.lower()] = distribution(req.name)
                todo.append((found[req.name.lower()].requires or [], frozenset(req.extras)))
    return found


def _link_into(site: Path, dist: Distribution) -> None:
    """*dist*'s installed files that live in site-packages, hard-linked (or
    copied) into *site*."""
    base = Path(str(dist.locate_file(""))).resolve()
    for f in dist.files or []:
        src = Path(str(dist.locate_file(f))).resolve()
        dst = site / src.relative_to(base) if src.is_relative_to(base) else None
        if dst is None or dst.exists() or not src.is_file():
            continue  # a script in bin/ (pinapi runs the checkers as modules), or listed twice
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


@pytest.fixture(scope="session")
def user_env(dist: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with ``pinapi[check]`` installed from the
    wheel; its bin/ folder."""
    _, wheel = dist
    env = tmp_path_factory.mktemp("user-env") / "venv"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())  # fmt: skip
    with zipfile.ZipFile(wheel) as whl:
        (metadata,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        requires = email.message_from_bytes(whl.read(metadata)).get_all("Requires-Dist") or []
    for dep in _needed(requires, frozenset({"check"})).values():
        _link_into(site, dep)
    r = subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-index",
                        "--find-links", wheel.parent, "pinapi[check]"], capture_output=True, text=True, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    return env / "bin"


def pinapi(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([bin_dir / "pinapi", *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two driver trees outside the source tree: one correct, one with a misuse."""
    out = {}
    for name, files in (("clean", {"good.py": GOOD}), ("misuse", {"good.py": GOOD, "bad.py": BAD})):
        out[name] = tmp_path_factory.mktemp(name)
        (out[name] / "drivers").mkdir()
        for file, text in files.items():
            (out[name] / "drivers" / file).write_text(text)
    return out


def test_the_wheel_is_what_runs(user_env: Path, trees: dict[str, Path]) -> None:
    r = subprocess.run([user_env / "python", "-c", "import pinapi, mypy, pyright; print(pinapi.__file__)"],
                       capture_output=True, text=True, cwd=trees["clean"])  # fmt: skip
    assert r.returncode == 0 and Path(r.stdout.strip()).is_relative_to(user_env.parent), r.stdout + r.stderr
    assert pinapi(user_env, "--version", cwd=trees["clean"]).stdout == "pinapi 0.1.0\n"


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_check_in_every_format(user_env: Path, trees: dict[str, Path], fmt: str) -> None:
    clean = pinapi(user_env, "check", "--format", fmt, "drivers", cwd=trees["clean"])
    misuse = pinapi(user_env, "check", "--format", fmt, "drivers", cwd=trees["misuse"])
    assert (clean.returncode, clean.stderr, misuse.returncode, misuse.stderr) == (0, "", 1, ""), clean.stdout + misuse.stdout
    if fmt in ("text", "github"):
        assert clean.stdout == "pinapi check: clean (mypy, pyright and balance)\n"
        first = misuse.stdout.splitlines()[0]
        assert first.startswith("drivers/bad.py:6:18: error: put_page() and the plain-reference calls cannot "
                                if fmt == "text" else
                                "::error file=drivers/bad.py,line=6,col=18,title=pinapi [pin-put-page-on-pin]::")  # fmt: skip
        assert misuse.stdout.endswith("pinapi check: 1 pin-rule finding (mypy, pyright and balance)\n")
    elif fmt == "json":
        assert json.loads(clean.stdout)["counts"] == {"findings": 0, "type_errors": 0}
        doc = json.loads(misuse.stdout)
        assert [(f["path"], f["line"], f["rule"], f["tools"]) for f in doc["findings"]] == [
            ("drivers/bad.py", 6, "pin-put-page-on-pin", ["mypy", "pyright"])]
    else:
        for out, n in ((clean, 0), (misuse, 1)):
            doc = json.loads(out.stdout)
            assert validate(doc) == [] and len(doc["runs"][0]["results"]) == n
            assert doc["runs"][0]["tool"]["driver"]["version"] == "0.1.0"


def test_every_subcommand(user_env: Path, trees: dict[str, Path]) -> None:
    cwd = trees["clean"]
    r = pinapi(user_env, "run", "drivers", cwd=cwd)
    assert r.returncode == 0 and r.stderr == "", r.stdout + r.stderr
    assert r.stdout.startswith("type check: mypy and pyright, 0 errors") and "scenarios: 1 run, 0 failed" in r.stdout
    r = pinapi(user_env, "bench", "--size", "64K", "--mode", "pin", cwd=cwd)
    assert r.returncode == 0 and "PIN_BASIC_TEST: Time: get:" in r.stdout, r.stdout + r.stderr
    for argv in (["run"], ["drivers"], ["review"], ["bench", "--report"]):
        r = pinapi(user_env, *argv, cwd=cwd)
        assert (r.returncode, r.stdout) == (2, ""), r.stdout + r.stderr
        (line,) = r.stderr.splitlines()
        assert line.startswith(f"pinapi {argv[0]}: ") and "needs a source checkout (examples/, docs/ and stubs/" in line


def test_the_sdist_ships_what_its_tests_read_and_they_pass(dist: tuple[Path, Path], tmp_path: Path) -> None:
    sdist, _ = dist
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path, filter="data")
    (tree,) = tmp_path.iterdir()
    imported = subprocess.check_output([sys.executable, "-c", "import pinapi; print(pinapi.__file__)"], cwd=tree, text=True)
    assert Path(imported.strip()).is_relative_to(tree), "the tests would run the source tree's pinapi"
    if (ROOT / ".git").exists():
        tracked = subprocess.check_output(["git", "ls-files"], cwd=ROOT, text=True).split()
        assert [f for f in tracked if not (tree / f).is_file() and not f.startswith((".ci/", ".gitignore"))] == []
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "tests/test_layering.py", "tests/test_readme.py", "tests/test_cli.py",
                        "tests/test_contract.py::test_mypy_source_tree", "tests/test_drivers.py::test_docs_table_is_generated",
                        "tests/test_check.py::test_every_rule_is_documented"],
                       cwd=tree, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
