"""The static balance analysis (pinapi/_tools/balance.py): the gallery in
examples/balance is reported line for line and nothing else, the driver
corpus and examples/ok are clean, and the control-flow graph has the edges
each statement shape needs."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pinapi._tools.balance import RULES, Contract, analyze_paths, analyze_source, build_cfg

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GALLERY = EXAMPLES / "balance"
MARKER = re.compile(r"# balance: ([\w-]+(?:, [\w-]+)*)")


def marked(paths: list[Path]) -> set[tuple[str, int, str]]:
    out = set()
    for path in paths:
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if m := MARKER.search(line):
                out |= {(path.name, i, rule) for rule in m[1].split(", ")}
    return out


def reported(source: str, strict: bool = False) -> list[tuple[int, str]]:
    return [(f.line, f.rule) for f in analyze_source(textwrap.dedent(source), "driver.py", strict=strict)]


# -- the gallery and the corpus ------------------------------------------------------


def test_the_gallery_is_reported_line_for_line() -> None:
    files = sorted(GALLERY.glob("*.py"))
    expected = marked(files)
    found = {(Path(f.path).name, f.line, f.rule) for f in analyze_paths([GALLERY])}
    assert not expected - found, f"no longer reported: {sorted(expected - found)}"
    assert not found - expected, f"false positives: {sorted(found - expected)}"


def test_the_gallery_is_big_enough() -> None:
    bugs = marked(sorted(GALLERY.glob("*.py")))
    assert len(bugs) >= 25
    assert {rule for *_, rule in bugs} == set(RULES) - {"pin-unknown"}
    correct = [n for f in GALLERY.glob("correct_*.py") for n in ast.parse(f.read_text()).body
               if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not n.name.startswith("_")]
    assert len(correct) >= 15
    assert not marked(sorted(GALLERY.glob("correct_*.py")))


def test_the_gallery_is_not_a_scenario() -> None:
    """``pinapi run`` executes files defining scenario(); the gallery is for the analysis."""
    from pinapi._tools.run import find_scenarios

    assert find_scenarios([GALLERY]) == []


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_the_driver_corpus_and_ok_are_clean(strict: bool) -> None:
    assert analyze_paths([EXAMPLES / "drivers", EXAMPLES / "ok"], strict=strict) == []


def test_each_driver_alone_is_clean() -> None:
    """Checked one file at a time, calls into _user.py are unknown: assumed to take."""
    for path in sorted((EXAMPLES / "drivers").glob("*.py")):
        assert analyze_paths([path]) == [], path.name


def test_the_2019_drivers_leak_only_where_converted_to_an_unpin() -> None:
    """The before code is balanced; the series' put_user_page() conversion of
    a plain reference (unpin_user_page() here) releases nothing, so it leaks."""
    found = {(Path(f.path).name, f.line, f.rule) for f in analyze_paths([EXAMPLES / "misuse" / "before"])}
    assert found == {("before_futex.py", 31, "pin-leaked"), ("before_kvm_main.py", 32, "pin-leaked")}


def test_pinapi_check_reports_balance_with_the_type_rules(tmp_path: Path) -> None:
    src = (GALLERY / "released_twice.py").read_text()
    (tmp_path / "driver.py").write_text(src)
    r = subprocess.run([sys.executable, "-m", "pinapi", "check", "--checker", "mypy", "driver.py"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [(int(n), rule) for n, rule in re.findall(r"^driver\.py:(\d+):\d+: error: .* \[(pin-[\w-]+)\]$", r.stdout, re.M)]
    assert sorted(lines) == sorted((n, rule) for _, n, rule in marked([GALLERY / "released_twice.py"]))
    assert r.stdout.splitlines()[-1] == f"pinapi check: {len(lines)} pin-rule findings (mypy and balance)"


# -- rules and options ---------------------------------------------------------------


def test_strict_reports_calls_it_cannot_see_into() -> None:
    src = """
        from pinapi import VaddrPin, vaddr_pin_pages
        from dma import submit

        def f(owner: VaddrPin, addr: int) -> None:
            pins = vaddr_pin_pages(addr, 1, 0, owner)
            submit(pins)
    """
    assert reported(src) == []
    assert reported(src, strict=True) == [(7, "pin-unknown")]


def test_an_owned_marker_spelt_out() -> None:
    src = """
        from typing import Annotated
        from pinapi import PinnedPages, unpin_user_pages

        def done(pins: Annotated[PinnedPages, "pinapi.owned"], ok: bool) -> None:
            if ok:
                unpin_user_pages(pins)
    """
    assert reported(src) == [(7, "pin-leaked")]


def test_a_borrowed_parameter_is_not_the_callee_s_to_release() -> None:
    src = """
        from pinapi import PinnedPages, unpin_user_pages

        def peek(pins: PinnedPages) -> bytes:
            return pins[0].read(0, 4)

        def twice(pins: PinnedPages) -> None:
            unpin_user_pages(pins)
            unpin_user_pages(pins)
    """
    assert reported(src) == [(9, "pin-released-twice")]


def test_summaries_cross_files(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "helpers.py").write_text(textwrap.dedent("""
        from pinapi import MM, Page, get_user_pages_remote, put_page

        def take(mm: MM, start: int) -> list[Page]:
            return get_user_pages_remote(mm, start, 2, 0)

        def drop(pages: list[Page]) -> None:
            for page in pages:
                put_page(page)
    """))
    (tmp_path / "pkg" / "driver.py").write_text(textwrap.dedent("""
        from pinapi import MM
        from .helpers import drop, take

        def balanced(mm: MM) -> None:
            drop(take(mm, 0))

        def leaks(mm: MM) -> int:
            pages = take(mm, 0)
            return len(pages)

        def twice(mm: MM) -> None:
            pages = take(mm, 0)
            drop(pages)
            drop(pages)
    """))
    found = [(Path(f.path).name, f.line, f.rule) for f in analyze_paths([tmp_path])]
    assert found == [("driver.py", 10, "pin-leaked"), ("driver.py", 15, "pin-released-twice")]


def test_a_star_import_of_the_contract() -> None:
    src = """
        from pinapi import *

        def f(owner: VaddrPin, addr: int) -> None:
            pins = vaddr_pin_pages(addr, 1, 0, owner)
            unpin_user_pages(pins)
            unpin_user_pages(pins)
    """
    assert reported(src) == [(7, "pin-released-twice")]


def test_a_release_of_the_wrong_kind_releases_nothing() -> None:
    """unpin_user_page() on a plain reference is the type checkers' error; the
    reference is still held."""
    src = """
        from pinapi import MM, get_user_pages_remote, unpin_user_page

        def f(mm: MM) -> None:
            (page,) = get_user_pages_remote(mm, 0, 1, 0)
            unpin_user_page(page)  # type: ignore[arg-type]
    """
    assert reported(src) == [(6, "pin-leaked")]


def test_the_contract_comes_from_the_stub() -> None:
    c = Contract.load()
    assert set(c.acquire) == {"vaddr_pin_pages", "pin_user_pages_fast", "get_user_bvec", "get_user_pages",
                              "get_user_pages_remote", "get_user_pages_fast", "get_user_pages_fast_only",
                              "follow_page", "alloc_page"}  # fmt: skip
    assert c.acquire["vaddr_pin_pages"].batch and not c.acquire["follow_page"].batch
    assert c.handles == {"PinnedPages", "PinnedPage", "PinnedBvec", "BvecSegment", "Page", "KernelPage"}
    assert c.store == {"sg_set_page": (1, 0)}
    assert c.carry["sg_page"] == ((0,), False) and c.carry["for_each_sg"] == ((0,), True)
    assert "pinned" not in c.members and {"read", "write", "pfn", "folio"} <= c.members


def test_a_stub_that_marks_owned_parameters_defines_the_releases() -> None:
    stub = (ROOT / "stubs" / "pinapi" / "__init__.pyi").read_text()
    marked_stub = "from typing import Annotated\n" + re.sub(
        r"def put_user_bvec\(bvec: (PinnedBvec\[\w+\]),", r'def put_user_bvec(bvec: Annotated[\1, "pinapi.owned"],', stub)
    assert marked_stub != "from typing import Annotated\n" + stub
    assert set(Contract.parse(marked_stub).release) == {"put_user_bvec"}
    assert "put_page" in Contract.parse(stub).release


# -- the control-flow graph ----------------------------------------------------------


def edges(source: str) -> set[tuple[str, str, str]]:
    func = ast.parse(textwrap.dedent(source)).body[0]
    assert isinstance(func, ast.FunctionDef)
    return set(build_cfg(func).edges())


def test_cfg_if_else_and_fall_off_the_end() -> None:
    e = edges("""
        def f(x):
            if x:
                a()
            else:
                b()
    """)
    assert {("test@3", "stmt@4", "true"), ("test@3", "stmt@6", "false"),
            ("stmt@4", "returns at its end (line 6)", "next"), ("stmt@6", "returns at its end (line 6)", "next")} <= e


def test_cfg_while_else_break_continue() -> None:
    e = edges("""
        def f(x):
            while x:
                if a():
                    break
                if b():
                    continue
                c()
            else:
                d()
            return 0
    """)
    assert ("test@3", "stmt@10", "exhaust") in e  # the else runs when the test fails
    assert ("nop@5", "stmt@11", "next") in e  # break skips the else
    assert ("nop@7", "test@3", "next") in e and ("stmt@8", "test@3", "next") in e  # back edges


def test_cfg_for_else_and_while_true() -> None:
    e = edges("""
        def f(xs):
            for x in xs:
                a(x)
            else:
                b()
            while True:
                if c():
                    break
    """)
    assert {("iter@3", "loop@3", "next"), ("loop@3", "stmt@4", "iter"), ("loop@3", "stmt@6", "exhaust")} <= e
    assert not any(src == "test@7" and kind == "exhaust" for src, _, kind in e)  # only break leaves while True


def test_cfg_finally_runs_on_every_exit() -> None:
    e = edges("""
        def f(xs):
            for x in xs:
                try:
                    if x:
                        return 1
                    if x > 1:
                        break
                    if x > 2:
                        raise ValueError
                finally:
                    g()
            return 0
    """)
    finally_exits = {dst for src, dst, _ in e if src == "stmt@12"}
    assert {"returns at line 6", "stmt@13", "nop@10", "loop@3"} <= finally_exits  # return, break, raise, next
    assert ("nop@10", "raises at line 10", "next") in e


def test_cfg_handlers_catch_explicit_raises_and_calls() -> None:
    e = edges("""
        def f():
            try:
                g()
                raise KeyError
            except KeyError:
                h()
            except OSError:
                raise
    """)
    assert {("stmt@4", "handler@6", "exc"), ("stmt@4", "handler@8", "exc")} <= e
    assert ("stmt@5", "handler@6", "next") in e and not any(dst.startswith("raises at line 5") for _, dst, _ in e)
    assert ("stmt@9", "raises at line 9", "next") in e


def test_cfg_with_exits_on_every_path() -> None:
    e = edges("""
        async def f():
            async with m() as x:
                if x:
                    return 1
                await g()
    """.replace("async def", "def"))
    assert {("stmt@5", "unwith@3", "next"), ("unwith@3", "returns at line 5", "next"),
            ("unwith@3", "returns at its end (line 6)", "next")} <= e


def test_cfg_match_cases_fall_through_to_the_next() -> None:
    e = edges("""
        def f(x):
            match x:
                case 1:
                    a()
                case [y] if y:
                    b()
                case _:
                    c()
    """)
    assert {("stmt@3", "case@4", "next"), ("case@4", "stmt@5", "true"), ("case@4", "case@6", "false"),
            ("case@6", "test@6", "true"), ("test@6", "case@8", "false"), ("case@8", "stmt@9", "true")} <= e
    assert not any(src == "case@8" and kind == "false" for src, _, kind in e)  # the wildcard always matches


# -- the pytest plugin -----------------------------------------------------------------

USER_TESTS = '''
import pytest
import pinapi
from pinapi import (MM, PAGE_SIZE, VaddrPin, alloc_page, get_user_bvec, get_user_pages_remote, put_page,
                    release_pages, unpin_user_pages, vaddr_pin_pages)


@pytest.fixture
def buf():
    mm = MM("user")
    yield mm, mm.mmap(4 * PAGE_SIZE)
    mm.exit()


@pytest.fixture
def pinned(buf):
    mm, addr = buf
    pins = vaddr_pin_pages(addr, 1, 0, VaddrPin(mm=mm))
    yield pins
    unpin_user_pages(pins)


def test_balanced(buf):
    mm, addr = buf
    unpin_user_pages(vaddr_pin_pages(addr, 2, 0, VaddrPin(mm=mm)))
    release_pages(p for p in get_user_pages_remote(mm, addr, 2, 0))
    put_page(alloc_page())


def test_released_by_the_fixture(pinned):
    assert len(pinned) == 1


def test_leaves_pins(buf):
    mm, addr = buf
    pins = vaddr_pin_pages(addr, 2, 0, VaddrPin(mm=mm))
    assert pins


def test_leaves_a_bvec(buf):
    mm, addr = buf
    bvec = get_user_bvec(addr, 100, 0, VaddrPin(mm=mm))
    assert bvec


def test_leaves_a_reference(buf):
    mm, addr = buf
    pages = get_user_pages_remote(mm, addr, 1, 0)
    assert pages


@pytest.mark.pinapi_leaks
def test_leaves_pins_on_purpose(buf):
    mm, addr = buf
    pins = vaddr_pin_pages(addr, 1, 0, VaddrPin(mm=mm))
    assert pins


def test_recorded_calls_refuse_what_they_refused(buf):
    mm, addr = buf
    pins = vaddr_pin_pages(addr, 1, 0, VaddrPin(mm=mm))
    with pytest.raises(TypeError, match="unpin_user_page"):
        put_page(pins[0])
    unpin_user_pages(pins)


def test_debug_counter():
    assert pinapi.lowlevel.debug_pins_enabled()
'''


def run_pytest(tmp_path: Path, *args: str, ini: str = "") -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text(f"[pytest]\naddopts = -p no:cacheprovider -rfE\n{ini}")
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def outcomes(r: subprocess.CompletedProcess[str]) -> dict[str, str]:
    return {name: outcome for outcome, name in re.findall(r"^(FAILED|ERROR) test_user\.py::(\w+)", r.stdout, re.M)}


def test_the_plugin_is_an_entry_point() -> None:
    from importlib.metadata import entry_points

    assert [e.value for e in entry_points(group="pytest11") if e.name == "pinapi"] == ["pinapi.pytest_plugin"]


def test_the_plugin_names_the_call_site_of_what_a_test_leaves(tmp_path: Path) -> None:
    r = run_pytest(tmp_path, "--pinapi-balance")
    assert outcomes(r) == {"test_leaves_pins": "ERROR", "test_leaves_a_bvec": "ERROR",
                           "test_leaves_a_reference": "ERROR"}, r.stdout  # fmt: skip
    site = tmp_path / "test_user.py"
    assert f"pins on 2 pages for VaddrPin(mm=<MM user>, file=None) taken at {site}:36 (test_leaves_pins)" in r.stdout
    assert f"a bvec on 1 page for VaddrPin(mm=<MM user>, file=None) taken at {site}:42 (test_leaves_a_bvec)" in r.stdout
    assert f"taken by get_user_pages_remote() at {site}:48 (test_leaves_a_reference)" in r.stdout


def test_the_plugin_is_off_unless_asked_and_its_debug_counter_can_be(tmp_path: Path) -> None:
    assert outcomes(run_pytest(tmp_path)) == {"test_debug_counter": "FAILED"}
    r = run_pytest(tmp_path, "--pinapi-no-debug", ini="pinapi_balance = true\n")
    assert set(outcomes(r)) == {"test_leaves_pins", "test_leaves_a_bvec", "test_leaves_a_reference",
                                "test_debug_counter"}, r.stdout  # fmt: skip
