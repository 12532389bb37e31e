"""pinapi bench: gup_test's loops for every mode, on small regions."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

import pytest

import pinapi._tools.bench

from pinapi.__main__ import main
from pinapi._mm.gup_cost import counting
from pinapi._tools.bench import MODES, add_bench_parser, parse_size

KEYS = {"mode", "bytes", "pages", "folios", "nr_pages_per_call", "get_us", "put_us", "refcount_ops", "kernel",
        "peak_rss_kib"}
COUNTERS = ("atomics", "entries", "bytes", "folios", "pages", "ptes", "locks")


def bench(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, Any]]:
    assert main(["bench", "--json", *argv]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # progress goes to a terminal only
    return [json.loads(line) for line in out.splitlines()]


def test_every_mode_reports_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    results = bench(capsys, "--size", "40K")
    assert [r["mode"] for r in results] == list(MODES)
    for r in results:
        assert KEYS <= r.keys()
        assert (r["bytes"], r["pages"], r["folios"], r["nr_pages_per_call"]) == (40960, 10, 10, 10)
        assert isinstance(r["get_us"], int) and isinstance(r["put_us"], int) and r["peak_rss_kib"] > 0


@pytest.mark.parametrize(
    ("argv", "pages", "folios"),
    [
        (["--size", "40K"], 10, 10),
        (["--size", "4M", "--thp"], 1024, 2),
        (["--size", "4M", "--hugetlb"], 1024, 2),
        (["--size", "4M", "--no-thp", "--no-write"], 1024, 1024),
    ],
)
def test_refcount_operations_are_exact(capsys: pytest.CaptureFixture[str], argv: list[str], pages: int, folios: int) -> None:
    ops = {r["mode"]: (r["pages"], r["folios"], r["refcount_ops"], r["put_refcount_ops"]) for r in bench(capsys, *argv)}
    assert ops == {
        "gup": (pages, folios, folios, pages),  # put_page() drops one page's reference at a time
        "pin": (pages, folios, folios, folios),
        "pin-longterm": (pages, folios, folios, folios),
        "bvec": (pages, folios, folios, folios),
        "floor": (pages, folios, 0, 0),
    }


def kernel(pages: int, folios: int, leaves: int, calls: int) -> dict[str, tuple[int, ...]]:
    """The counters every mode must report, get then put, for a region of
    *pages* in *folios*, read as *leaves* leaf entries, in *calls* calls
    none of which crosses a folio (so one run, one segment per folio)."""
    locks = calls + leaves  # mmap_lock per call, the page-table lock per leaf
    touched = leaves  # a PTE's page, or a huge leaf's head
    get = (folios, pages, 8 * pages, folios, touched, leaves, locks)
    return {
        "gup": get + (pages, pages, 8 * pages, folios, pages, 0, 0),  # put_page() per page
        "pin": get + (folios, pages, 8 * pages, folios, pages, 0, 0),
        "pin-longterm": get + (folios, pages, 8 * pages, folios, pages, 0, 0),
        "bvec": (folios, folios, 16 * folios, folios, touched, leaves, locks)
                + (folios, folios, 16 * folios, folios, folios, 0, 0),  # fmt: skip
        "floor": (0, pages, 8 * pages, 0, 0, pages, 0) + (0, pages, 8 * pages, 0, 0, 0, 0),
    }


@pytest.mark.parametrize(
    ("argv", "pages", "folios", "leaves", "calls"),
    [
        (["--size", "40K"], 10, 10, 10, 1),
        (["--size", "40K", "--nr-pages-per-call", "3"], 10, 10, 10, 4),
        (["--size", "4M", "--thp"], 1024, 2, 2, 1),
        (["--size", "4M", "--thp", "--no-write", "--nr-pages-per-call", "512"], 1024, 2, 2, 2),
        (["--size", "4M", "--hugetlb"], 1024, 2, 2, 1),
        (["--size", "4M", "--no-thp", "--no-write"], 1024, 1024, 1024, 1),
    ],
)
def test_kernel_counters_are_exact(capsys: pytest.CaptureFixture[str], argv: list[str], pages: int, folios: int,
                                   leaves: int, calls: int) -> None:  # fmt: skip
    results = bench(capsys, *argv)
    got = {r["mode"]: tuple(r["kernel"][loop][c] for loop in ("get", "put") for c in COUNTERS) for r in results}
    assert got == kernel(pages, folios, leaves, calls)
    for r in results:  # vmstat over the timed loops agrees with the counted round
        assert (r["refcount_ops"], r["put_refcount_ops"]) == (r["kernel"]["get"]["atomics"],
                                                              r["kernel"]["put"]["atomics"])  # fmt: skip


def test_kernel_counters_of_calls_that_cross_folios(capsys: pytest.CaptureFixture[str]) -> None:
    """300 pages per call over two THPs: calls of 300, 300, 300, 124 pages;
    the second spans both folios (two PMDs, two runs, two segments). A
    segment's bv_page is the page it starts at: five distinct pages."""
    got = {r["mode"]: r["kernel"] for r in bench(capsys, "--size", "4M", "--thp", "--nr-pages-per-call", "300")}
    calls, runs = 4, 5
    for mode in ("gup", "pin", "pin-longterm", "bvec"):
        entries = runs if mode == "bvec" else 1024
        size = 16 if mode == "bvec" else 8
        assert got[mode]["get"] == {"atomics": runs, "entries": entries, "bytes": size * entries, "folios": 2,
                                    "pages": 2, "ptes": runs, "locks": calls + runs}  # fmt: skip
    assert got["pin"]["put"] == {"atomics": runs, "entries": 1024, "bytes": 8192, "folios": 2, "pages": 1024,
                                 "ptes": 0, "locks": 0}  # fmt: skip
    assert got["bvec"]["put"] == {"atomics": runs, "entries": runs, "bytes": 16 * runs, "folios": 2, "pages": 5,
                                  "ptes": 0, "locks": 0}  # fmt: skip
    assert got["gup"]["put"]["atomics"] == 1024


def test_the_summary_prints_the_counters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--size", "4M", "--thp", "--mode", "pin", "--mode", "bvec"]) == 0
    out = capsys.readouterr().out
    table = out[out.index("kernel counters per loop"):].splitlines()
    assert table[1].split() == ["mode", "loop", *COUNTERS]
    assert [line.split() for line in table[2:]] == [
        ["pin", "get", "2", "1024", "8192", "2", "2", "2", "3"],
        ["pin", "put", "2", "1024", "8192", "2", "1024", "0", "0"],
        ["bvec", "get", "2", "2", "32", "2", "2", "2", "3"],
        ["bvec", "put", "2", "2", "32", "2", "2", "0", "0"],
    ]


def test_timed_loops_run_with_counting_off(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Only the extra round counts: a get loop timed while counting would
    find it on."""
    seen: list[object] = []
    get, put = pinapi._tools.bench._LOOPS["pin"]

    def spy(*args: Any) -> Any:
        seen.append(counting.active)
        return get(*args)

    monkeypatch.setitem(pinapi._tools.bench._LOOPS, "pin", (spy, put))
    bench(capsys, "--size", "40K", "--mode", "pin", "--repeats", "3")
    assert len(seen) == 4 and seen[0] is not None and seen[1:] == [None] * 3 and counting.active is None


def test_calls_threads_and_repeats(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--size", "40K", "--nr-pages-per-call", "3", "--threads", "2", "--repeats", "3"]
    (r,) = bench(capsys, *argv, "--mode", "bvec")
    assert (r["calls"], r["threads"], r["repeats"]) == (4, 2, 3)
    assert len(r["get_us_all"]) == len(r["put_us_all"]) == 6
    assert (r["refcount_ops"], r["put_refcount_ops"]) == (10, 10)  # per loop of one thread
    assert r["kernel"]["get"]["locks"] == 4 + 10 and r["kernel"]["put"]["entries"] == 10  # one thread's loop
    assert main(["bench", *argv, "--mode", "pin", "--mode", "floor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    times = [line for line in lines if "Time:" in line]
    assert len(times) == 12 and all(re.fullmatch(r"(pin|floor): Time: get:\d+ put:\d+ us", t) for t in times)
    assert any(line.startswith("pin ") for line in lines) and any(line.startswith("floor ") for line in lines)


@pytest.mark.parametrize(
    "argv",
    [
        ["--size", "12Q"],
        ["--size", "0"],
        ["--size", "100"],
        ["--size", "-4K"],
        ["--size", "1M", "--hugetlb"],
        ["--hugetlb", "--thp"],
        ["--repeats", "0"],
        ["--threads", "x"],
        ["--nr-pages-per-call", "-1"],
        ["--mode", "fast"],
        ["--bogus"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["bench", *argv])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("pinapi") and " error: " in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("text", "size"),
    [("4K", 4096), ("8192", 8192), ("1m", 1 << 20), ("128M", 128 << 20), ("2G", 2 << 30)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["12Q", "", "M", "1.5M", "4097", "0K"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)


def test_default_region_is_gup_tests_128_mb() -> None:
    parser = argparse.ArgumentParser()
    add_bench_parser(parser.add_subparsers())
    args = parser.parse_args(["bench"])
    assert (args.size, args.write, args.thp, args.hugetlb) == (128 << 20, True, None, False)
    assert (args.nr_pages_per_call, args.repeats, args.threads, args.mode) == (0, 1, 1, None)


def test_progress_only_on_a_terminal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["bench", "--size", "40K", "--mode", "pin", "--repeats", "2"]) == 0
    out, err = capsys.readouterr()
    assert "pin: repeat 2 of 2" in err and "touching" in err
    assert "repeat" not in out and len([line for line in out.splitlines() if "Time:" in line]) == 2


def test_the_untimed_check_catches_pages_that_are_not_pinned(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pinapi._tools.bench, "_PINNING", ("gup",))  # plain references are not pins
    assert main(["bench", "--size", "40K", "--mode", "gup"]) == 1
    assert "gup: 10 folios not dma-pinned after the get loop" in capsys.readouterr().err
