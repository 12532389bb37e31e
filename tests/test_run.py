"""``pinapi run``: a user's own scenarios, each isolated (one that leaks fails
alone; the MMs it created are exited for it), and the main job's summary."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pinapi
from pinapi import FOLL_WRITE, MM, VaddrPin
from pinapi._tools.run import check_scenario

ROOT = Path(__file__).resolve().parent.parent

LEAKY = """\
from pinapi import FOLL_WRITE, MM, VaddrPin, vaddr_pin_pages


def scenario() -> None:
    mm = MM("leaky")
    buf = mm.mmap(4 * 4096)
    vaddr_pin_pages(buf, 1, FOLL_WRITE, VaddrPin(mm=mm))
"""

#: A correct driver: it pins, lets the device write, unpins; the process's
#: exit is not its business, so it never calls mm.exit().
CORRECT = """\
from pinapi import FOLL_WRITE, MM, VaddrPin, unpin_user_pages_dirty_lock, vaddr_pin_pages


def scenario() -> None:
    mm = MM("driver")
    buf = mm.mmap(4 * 4096)
    mm.write(buf, bytes(4 * 4096))
    pins = vaddr_pin_pages(buf, 4, FOLL_WRITE, VaddrPin(mm=mm))
    pins[0].write(0, b"DMA")
    unpin_user_pages_dirty_lock(pins, make_dirty=True)
    assert mm.fork().read(buf, 3) == b"DMA"
"""


def run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pinapi", "run", *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=300)  # fmt: skip


def test_a_correct_driver_need_not_exit_its_processes() -> None:
    def scenario() -> None:
        mm = MM("driver")
        buf = mm.mmap(2 * pinapi.PAGE_SIZE)
        mm.write(buf, b"x")
        child = mm.fork()
        with pinapi.vaddr_pin_pages(buf, 2, FOLL_WRITE, VaddrPin(mm=child)) as pins:
            pins[1].write(0, b"y")

    delta = check_scenario(scenario)
    assert delta["nr_folios_allocated"] == delta["nr_folios_freed"] > 0


def test_one_leaking_scenario_fails_alone(tmp_path: Path) -> None:
    """The leak is reported at its pinning call; the scenarios after it pass
    (no EBUSY from the debug counter), and the ledger counts what leaked."""
    (tmp_path / "a_leaky.py").write_text(LEAKY)
    (tmp_path / "b_correct.py").write_text(CORRECT)
    (tmp_path / "c_correct.py").write_text(CORRECT)
    r = run("--no-check", ".", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr == "", r.stdout + r.stderr
    fail, checked, scenarios, ledger = r.stdout.splitlines()
    assert re.fullmatch(r"FAIL a_leaky\.py: AssertionError: pins acquired 1, released 0, still live: "
                        r"\[<PinRecord #\d+ VaddrPin\(mm=<MM leaky>.* at .*a_leaky\.py:7 \(scenario\)>\]", fail)  # fmt: skip
    assert checked == "type check: skipped"
    assert re.fullmatch(r"scenarios: 3 run, 1 failed in [\d.]+s", scenarios)
    assert ledger == ("pin ledger: acquired 9 released 8, 1 pin live in 1 record "
                      "(a record is one pinning call that still holds pins)")  # fmt: skip


def test_run_path_type_checks_the_scenarios(tmp_path: Path) -> None:
    (tmp_path / "correct.py").write_text(CORRECT)
    r = run("correct.py", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.match(r"type check: mypy and pyright, 0 errors in [\d.]+s\n", r.stdout)
    assert r.stdout.endswith("pin ledger: acquired 4 released 4, 0 pins live in 0 records "
                             "(a record is one pinning call that still holds pins)\n")  # fmt: skip


def test_bad_path_is_one_line(tmp_path: Path) -> None:
    r = run("no_such_driver.py", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", "pinapi run: no_such_driver.py: no such file or directory\n")


def test_the_main_job_says_every_misuse_example_was_rejected() -> None:
    """``make run``: the gallery is type-checked with its markers, and the
    summary says what a clean check means and what a record is."""
    r = run()
    assert r.returncode == 0, r.stdout + r.stderr
    checked, scenarios, ledger = r.stdout.splitlines()
    marked = [line for f in (ROOT / "examples").rglob("*.py") if "misuse" in f.parts
              for line in f.read_text().splitlines() if "# type: ignore[" in line]  # fmt: skip
    files = len([f for f in (ROOT / "examples").rglob("*.py") if "misuse" in f.parts])
    assert re.fullmatch(rf"type check: mypy and pyright, 0 errors in [\d.]+s; every misuse example rejected "
                        rf"\({len(marked)} marked lines in {files} files, each with the error its markers name\)",
                        checked)  # fmt: skip
    assert re.fullmatch(r"scenarios: \d+ run, 0 failed in [\d.]+s", scenarios)
    assert re.fullmatch(r"pin ledger: acquired (\d+) released \1, 0 pins live in 0 records \(a record is one "
                        r"pinning call that still holds pins\)", ledger)  # fmt: skip
