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
from pinapi._tools.bench import MODES, add_bench_parser, parse_size

KEYS = {"mode", "bytes", "pages", "folios", "nr_pages_per_call", "get_us", "put_us", "refcount_ops", "peak_rss_kib"}


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


def test_calls_threads_and_repeats(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--size", "40K", "--nr-pages-per-call", "3", "--threads", "2", "--repeats", "3"]
    (r,) = bench(capsys, *argv, "--mode", "bvec")
    assert (r["calls"], r["threads"], r["repeats"]) == (4, 2, 3)
    assert len(r["get_us_all"]) == len(r["put_us_all"]) == 6
    assert (r["refcount_ops"], r["put_refcount_ops"]) == (10, 10)  # per loop of one thread
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
