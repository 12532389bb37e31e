"""pinapi bench: gup_test's loops for every mode, on small regions."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any, Final

import pytest

import pinapi._tools.bench

from pinapi.__main__ import main
from pinapi._legacy import get_user_pages_remote, put_page
from pinapi._mm.errors import err
from pinapi._mm.gup_cost import counting
from pinapi._mm.page_alloc import GUP_PIN_COUNTING_BIAS, PAGE_SIZE, Page
from pinapi._pin import vaddr_pin_pages
from pinapi._tools.bench import COMMANDS, MODES, add_bench_parser, dump_user_pages_test, map_region, parse_size
from tests.helpers import fill, pattern

KEYS = {"mode", "bytes", "pages", "folios", "nr_pages_per_call", "get_us", "put_us", "refcount_ops", "kernel",
        "peak_rss_kib"}
COUNTERS = ("atomics", "entries", "bytes", "folios", "pages", "ptes", "locks")


def bench(capsys: pytest.CaptureFixture[str], *argv: str, status: int = 0) -> list[dict[str, Any]]:
    assert main(["bench", "--json", *argv]) == status
    out, errors = capsys.readouterr()
    assert errors == "" if status == 0 else errors  # progress goes to a terminal only
    return [json.loads(line) for line in out.splitlines()]


def parse(*argv: str) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    add_bench_parser(parser.add_subparsers())
    return {k: v for k, v in vars(parser.parse_args(["bench", *argv])).items() if k != "parser"}


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
        (["--size", "4M", "--thp", "--no-touch"], 1024, 2),  # GUP's write faults allocate the THPs
        (["--size", "4M", "--hugetlb"], 1024, 2),
        (["--size", "4M", "--no-thp", "--no-write"], 1024, 1024),
        (["--size", "40K", "--shared"], 10, 10),  # shmem
        (["--size", "4M", "-S", "-H"], 1024, 2),  # shared hugetlb
        (["--size", "40K", "--file", "tmpfs", "-S"], 10, 10),
        (["--size", "40K", "-f", "ext4"], 10, 10),  # private: the touch copied every page
        (["--size", "4M", "-f", "hugetlbfs", "-S", "-z"], 1024, 2),
    ],
)
def test_refcount_operations_are_exact(capsys: pytest.CaptureFixture[str], argv: list[str], pages: int, folios: int) -> None:
    ops = {r["mode"]: (r["pages"], r["folios"], r["refcount_ops"], r["put_refcount_ops"]) for r in bench(capsys, *argv)}
    assert ops == {
        "gup": (pages, folios, folios, pages),  # put_page() drops one page's reference at a time
        "gup-fast": (pages, folios, folios, pages),
        "pin": (pages, folios, folios, folios),
        "pin-fast": (pages, folios, folios, folios),
        "pin-longterm": (pages, folios, folios, folios),
        "bvec": (pages, folios, folios, folios),
        "floor": (pages, folios, 0, 0),
    }


@pytest.mark.parametrize("argv", [["-H", "--hugetlb-size", "1G"], ["-f", "hugetlbfs", "--hugetlb-size", "1G", "-S"]])
def test_1g_hugetlb_pages(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    results = bench(capsys, "-m", "1024", "-z", *argv, "--mode", "bvec", "--mode", "pin-fast")
    assert [(r["mode"], r["pages"], r["folios"], r["refcount_ops"], r["put_refcount_ops"]) for r in results] == [
        ("bvec", 262144, 1, 1, 1),
        ("pin-fast", 262144, 1, 1, 1),
    ]
    assert results[0]["hugetlb_size"] == "1G"


def kernel(pages: int, folios: int, leaves: int, calls: int) -> dict[str, tuple[int, ...]]:
    """The counters every mode must report, get then put, for a region of
    *pages* in *folios*, read as *leaves* leaf entries, in *calls* calls
    none of which crosses a folio (so one run, one segment per folio)."""
    locks = calls + leaves  # mmap_lock per call, the page-table lock per leaf
    touched = leaves  # a PTE's page, or a huge leaf's head
    get = (folios, pages, 8 * pages, folios, touched, leaves, locks)
    fast = get[:-1] + (0,)  # GUP-fast: the same leaves, no lock
    gup_put = (pages, pages, 8 * pages, folios, pages, 0, 0)  # put_page() per page
    unpin = (folios, pages, 8 * pages, folios, pages, 0, 0)
    return {
        "gup": get + gup_put,
        "gup-fast": fast + gup_put,
        "pin": get + unpin,
        "pin-fast": fast + unpin,
        "pin-longterm": get + unpin,
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
    for mode in ("gup", "gup-fast", "pin", "pin-fast", "pin-longterm", "bvec"):
        entries = runs if mode == "bvec" else 1024
        size = 16 if mode == "bvec" else 8
        locks = 0 if mode.endswith("-fast") else calls + runs
        assert got[mode]["get"] == {"atomics": runs, "entries": entries, "bytes": size * entries, "folios": 2,
                                    "pages": 2, "ptes": runs, "locks": locks}  # fmt: skip
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
    assert len(times) == 12
    assert all(re.fullmatch(r"(PIN_BASIC_TEST|FLOOR_BENCHMARK): Time: get:\d+ put:\d+ us", t) for t in times)
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
        ["-m", "0"],
        ["-m", "-4"],
        ["-m", "1.5"],
        ["-r", "x"],
        ["-j", "-1"],
        ["-n", "many"],
        ["-F", "-1"],
        ["-F", "0x100000000"],
        ["-F", "FOLL_WRITE"],
        ["-F", "09"],
        ["-f", "xfs"],
        ["-f", "/dev/null"],
        ["-H", "-f", "ext4"],
        ["-H", "-t"],
        ["-f", "hugetlbfs", "-T"],
        ["-f", "hugetlbfs", "--size", "40K"],
        ["-H", "--hugetlb-size", "1G", "-m", "1000"],
        ["-H", "--hugetlb-size", "4M"],
        ["--hugetlb-size", "1G"],
        ["-S", "--thp"],
        ["-f", "tmpfs", "-t"],
        ["-p"],
        ["3"],
        ["-c", "-x"],
        ["-c", "0x"],
        ["-c", "-1"],
        ["-c", "--size", "40K", "10"],
        ["-c", "--size", "40K", *"0 1 2 3 4 5 6 7 8".split()],
        ["-c", "-L"],
        ["-c", "--mode", "pin"],
        ["-c", "-r", "2"],
        ["-c", "-j", "2"],
        ["-c", "--json"],
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
    args = parse()
    assert (args["size"], args["write"], args["thp"], args["hugetlb"], args["hugetlb_size"]) == (128 << 20, True, None, False, None)
    assert (args["nr_pages_per_call"], args["repeats"], args["threads"], args["mode"]) == (0, 1, 1, None)
    assert (args["file"], args["shared"], args["touch"], args["gup_flags"]) == ("/dev/zero", False, True, 0)
    assert (args["dump"], args["use_pin"], args["pages"]) == (False, False, [])


@pytest.mark.parametrize(
    ("short", "long"),
    [
        (["-m", "1024"], ["--size", "1G"]),
        (["-r", "5", "-n", "3", "-j", "2"], ["--repeats", "5", "--nr-pages-per-call", "3", "--threads", "2"]),
        (["-t"], ["--thp"]),
        (["-T"], ["--no-thp"]),
        (["-W", "-w", "-S"], ["--shared"]),
        (["-W"], ["--no-write"]),
        (["-H"], ["--hugetlb"]),
        (["-S"], ["--shared"]),
        (["-z"], ["--no-touch"]),
        (["-f", "ext4"], ["--file", "ext4"]),
        (["-F", "0x400"], ["--gup-flags", "1024"]),
        (["-F", "02000"], ["--gup-flags", "0x400"]),
        (["-U", "-u", "-b", "-a", "-L"], ["--mode", "gup", "--mode", "gup-fast", "--mode", "pin", "--mode", "pin-fast",
                                          "--mode", "pin-longterm"]),
        (["-c", "-p", "0x10", "017"], ["--dump", "--use-pin", "16", "15"]),
    ],
)
def test_gup_tests_single_letter_options(short: list[str], long: list[str]) -> None:
    assert parse(*short) == parse(*long) != parse()


def test_gup_tests_own_command_line() -> None:
    args = parse("-L", "-t", "-m", "1024", "-r", "5")
    assert (args["mode"], args["thp"], args["size"], args["repeats"]) == (["pin-longterm"], True, 1 << 30, 5)


def test_lines_are_named_as_gup_test_names_its_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--size", "40K", "-U", "-u", "-b", "-a", "-L", "--mode", "bvec", "--mode", "floor"]) == 0
    times = [line for line in capsys.readouterr().out.splitlines() if "Time:" in line]
    names = ["GUP_BASIC_TEST", "GUP_FAST_BENCHMARK", "PIN_BASIC_TEST", "PIN_FAST_BENCHMARK", "PIN_LONGTERM_BENCHMARK",
             "BVEC_BENCHMARK", "FLOOR_BENCHMARK"]  # fmt: skip
    assert [COMMANDS[mode] for mode in MODES] == names
    assert [t.split(":")[0] for t in times] == names
    assert all(re.fullmatch(r"[A-Z_]+: Time: get:\d+ put:\d+ us", t) for t in times)


def test_a_short_get_truncates_the_round(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def short_second_call(mm: Any, start: int, nr_pages: int, gup_flags: int) -> list[Page]:
        calls.append(start)
        pages = get_user_pages_remote(mm, start, nr_pages, gup_flags)
        if start == calls[0] + 4 * PAGE_SIZE:  # each round's second call hands back 2 of the 4, as a
            for page in pages[2:]:  # partial result is handed back
                put_page(page)
            return pages[:2]
        return pages

    monkeypatch.setattr(pinapi._tools.bench, "get_user_pages_remote", short_second_call)
    assert main(["bench", "--size", "40K", "-n", "4", "-U"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "Time:" in line]
    assert re.fullmatch(r"GUP_BASIC_TEST: Time: get:\d+ put:\d+ us, truncated \(size: 24576\)", line)
    assert calls == [calls[0], calls[0] + 4 * PAGE_SIZE] * 2  # each loop (counted, timed) stopped at the short call
    calls.clear()
    assert main(["bench", "--size", "40K", "-n", "4", "-c", "0", "7"]) == 0
    assert capsys.readouterr().out.splitlines()[-3:] == [
        "ZEROING due to out of range: .which_pages[1]: 8",
        "DUMP_USER_PAGES_TEST: done",
        "Truncated (size: 24576)",
    ]


def test_a_failed_later_call_truncates_and_a_failed_first_call_fails_the_mode(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    failing = ["second"]  # which call of each round (the counted one, each timed one) fails

    def fail_a_call(addr: int, nr_pages: int, gup_flags: int, owner: Any) -> Any:
        calls.append(addr)
        if failing[0] == "every" or addr == calls[0] + 4 * PAGE_SIZE:
            raise err(12, "ENOMEM for the test")
        return vaddr_pin_pages(addr, nr_pages, gup_flags, owner)

    monkeypatch.setattr(pinapi._tools.bench, "vaddr_pin_pages", fail_a_call)
    assert main(["bench", "--size", "40K", "-n", "4", "-b"]) == 0  # the pins got are released: none left
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "Time:" in line]
    assert line.endswith(" us, truncated (size: 16384)")
    failing[0] = "every"  # the first call fails: the mode fails
    (r,) = bench(capsys, "--size", "40K", "-b", status=1)
    assert r["mode"] == "pin" and r["error"] == "[Errno 12] ENOMEM: ENOMEM for the test" and "get_us" not in r


def test_a_mode_the_engine_refuses_fails_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--size", "40K", "-f", "ext4", "-S"]) == 1
    out, errors = capsys.readouterr()
    assert errors == ("pinapi bench: PIN_LONGTERM_BENCHMARK: [Errno 14] EFAULT: writable FOLL_LONGTERM pin of a "
                      "shared ext4 mapping: the filesystem tracks dirty pages\n")  # fmt: skip
    lines = out.splitlines()
    assert [t.split(":")[0] for t in lines if "Time:" in t] == [COMMANDS[m] for m in MODES if m != "pin-longterm"]
    header = next(i for i, line in enumerate(lines) if line.startswith("mode ") and "get us" in line)
    summary = lines[header + 1 : header + 7]
    assert [line.split()[0] for line in summary] == [m for m in MODES if m != "pin-longterm"]
    (r,) = bench(capsys, "--size", "40K", "-f", "ext4", "-S", "-W", "-L")  # a read pin is allowed
    assert (r["mode"], r["refcount_ops"]) == ("pin-longterm", 10)
    (r,) = bench(capsys, "--size", "40K", "-f", "fsdax", "-L", status=1)
    assert r["error"].startswith("[Errno 95]") and (r["file"], r["shared"]) == ("fsdax", False)


_PLAIN: Final = ("gup", "gup-fast")


@pytest.mark.parametrize(
    ("flags", "refused_by", "refused"),
    [
        ("0x20000", set(MODES) - {"floor"}, "FOLL_PIN (and FOLL_FAST_ONLY) are set by GUP itself"),  # FOLL_PIN
        ("4", set(MODES) - {"floor", *_PLAIN}, "FOLL_GET and FOLL_PIN are mutually exclusive"),  # FOLL_GET
        ("0x2", set(MODES) - {"floor"}, "unknown gup_flags 0x2"),  # FOLL_TOUCH: not modelled
    ],
)
def test_raw_gup_flags_the_engine_refuses(capsys: pytest.CaptureFixture[str], flags: str, refused_by: set[str],
                                          refused: str) -> None:  # fmt: skip
    assert main(["bench", "--size", "40K", "-F", flags]) == 1
    out, errors = capsys.readouterr()
    lines = errors.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == [COMMANDS[m] for m in MODES if m in refused_by]
    assert all(f"[Errno 22] EINVAL: {refused}" in line for line in lines)
    timed = [t.split(":")[0] for t in out.splitlines() if "Time:" in t]
    assert timed == [COMMANDS[m] for m in MODES if m not in refused_by]  # FOLL_GET is gup's own flag


def test_raw_gup_flags_reach_the_engine(capsys: pytest.CaptureFixture[str]) -> None:
    (r,) = bench(capsys, "--size", "40K", "-F", "0x10", "-W", "-b")  # FOLL_FORCE alone
    assert (r["gup_flags"], r["write"], r["refcount_ops"]) == (0x10, False, 10)
    (r,) = bench(capsys, "--size", "40K", "-F", "1", "-W", "-U")  # -W leaves -F's FOLL_WRITE, as gup_test does
    assert r["gup_flags"] == 1
    (r,) = bench(capsys, "--size", "40K", "-F", "1024", "-U", status=1)  # FOLL_LONGTERM without a pin
    assert r["error"] == "[Errno 22] EINVAL: FOLL_LONGTERM requires FOLL_PIN: use vaddr_pin_pages()"
    (r,) = bench(capsys, "--size", "40K", "-F", "0x400", "-f", "ext4", "-S", "-b", status=1)  # pin made long-term
    assert r["error"].startswith("[Errno 14] EFAULT: writable FOLL_LONGTERM pin of a shared ext4 mapping")


def test_the_dump_shows_each_chosen_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--size", "40K", "-c", "0x3", "9"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 9 and lines[-1] == "DUMP_USER_PAGES_TEST: done"
    for n, index in ((0, 3), (4, 9)):
        assert lines[n] == f"---- page #{index}, starting from user virt addr: 0x7f0000000000"
        assert re.fullmatch(rf"page: refcount:2 mapcount:1 mapping:0 index:0x7f000000{index} pfn:0x[0-9a-f]+", lines[n + 1])
        assert lines[n + 2] == "anon flags: 0x30(anon|anon_exclusive|zone=Normal)"
        assert lines[n + 3] == "data: " + " ".join(["00"] * 16)
    assert main(["bench", "--size", "40K", "-c"]) == 0  # page 0 by default
    assert capsys.readouterr().out.splitlines()[0] == "---- page #0, starting from user virt addr: 0x7f0000000000"
    assert main(["bench", "--size", "40K", "-c", "-S", "-f", "ext4", "2"]) == 0
    page, flags = capsys.readouterr().out.splitlines()[1:3]
    assert re.fullmatch(r"page: refcount:3 mapcount:1 mapping:ext4:0x[0-9a-f]+ index:0x2 pfn:0x[0-9a-f]+", page)
    assert flags == "flags: 0xa(dirty|private|zone=Normal)"  # the touch's page_mkwrite()


@pytest.mark.parametrize(("use_pin", "thp"), [(False, False), (True, False), (False, True), (True, True)])
def test_the_dump_reads_the_right_page_through_its_reference_or_pin(use_pin: bool, thp: bool) -> None:
    size = 4 << 20
    mm, addr = map_region(size, thp or None, False)
    try:
        which = [0, 1, 511, 512, 1023]
        fill(mm, addr, which, tag=7)
        lines: list[str] = []
        dump_user_pages_test(mm, addr, size, 300, 1, which, use_pin, lines.append)
        dumped = [lines[i : i + 4 + thp] for i in range(0, len(lines) - 1, 4 + thp)]
        assert len(dumped) == len(which) and lines[-1] == "DUMP_USER_PAGES_TEST: done"
        for index, (head, page, *large, flags, data) in zip(which, dumped):
            mapped = mm.lookup(addr + index * PAGE_SIZE)
            assert mapped is not None
            assert head == f"---- page #{index}, starting from user virt addr: {addr:#x}"
            # the mapping's reference, then every page of the folio got once: a pin counts 1024 on a small folio
            refs = 1 + (512 if thp else GUP_PIN_COUNTING_BIAS if use_pin else 1)
            assert page == (f"page: refcount:{refs} mapcount:1 mapping:0 index:{(addr >> 12) + index:#x} "
                            f"pfn:{mapped.pfn:#x}")  # fmt: skip
            assert large == ([f"head: order:9 mapcount:1 pincount:{512 if use_pin else 0}"] if thp else [])
            assert flags.startswith("anon flags: 0x30(")
            assert data == "data: " + pattern(index, 7)[:16].hex(" ")
        first = mm.lookup(addr)
        assert first is not None and first.folio.refcount() == 1  # everything was put back
    finally:
        mm.exit()


def test_the_modes_rounds_are_interleaved(capsys: pytest.CaptureFixture[str]) -> None:
    """Round 1 of every mode, then round 2: a ratio taken within a round
    compares loops run moments apart."""
    assert main(["bench", "--size", "40K", "--mode", "pin", "--mode", "floor", "--repeats", "3"]) == 0
    out, _ = capsys.readouterr()
    lines = [line.split(":")[0] for line in out.splitlines() if "Time:" in line]
    assert lines == ["PIN_BASIC_TEST", "FLOOR_BENCHMARK"] * 3


def test_progress_only_on_a_terminal(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["bench", "--size", "40K", "--mode", "pin", "--repeats", "2"]) == 0
    out, err = capsys.readouterr()
    assert "round 2 of 2: pin" in err and "touching" in err
    assert "repeat" not in out and len([line for line in out.splitlines() if "Time:" in line]) == 2


def test_the_untimed_check_catches_pages_that_are_not_pinned(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pinapi._tools.bench, "_PINNING", ("gup",))  # plain references are not pins
    assert main(["bench", "--size", "40K", "--mode", "gup"]) == 1
    assert "gup: 10 folios not dma-pinned after the get loop" in capsys.readouterr().err


def test_no_touch_leaves_the_faults_to_gup(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--size", "40K", "-z", "--mode", "floor"]) == 0  # nothing mapped: floor reads empty tables
    assert "10 pages in 0 folios" in capsys.readouterr().out
    gup, floor = bench(capsys, "--size", "40K", "-z", "-U", "--mode", "floor")
    assert (gup["folios"], gup["refcount_ops"], floor["folios"], gup["touch"]) == (10, 10, 10, False)
