"""``pinapi bench --report [FILE]``: rerun every workload behind docs/bench.md
and rewrite its generated blocks and its two plots from that one run.

Each workload is one ``pinapi bench`` command line, run through
:func:`bench_results` in a child process of its own, so that a run's
resident-memory figures are its own. A timed figure is the min / median / max
over the run's timed rounds, and a ratio between two modes is taken within
each round. The prose around the blocks carries no measured number.
"""

from __future__ import annotations

import argparse
import linecache
import multiprocessing
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Final, TypeVar

from .._mm.errors import KernelError
from .._mm.page_alloc import PAGE_SIZE, PMD_SIZE
from .._tools import CommandError
from .._tools import bench
from .._tools.bench import bench_results, map_region, region_folios
from .._tools.checkout import ROOT, require_checkout
from .blocks import generated_blocks, regenerate
from .svg import PALETTE, Series, log_log_chart

__all__ = [
    "WORKLOADS", "SECTIONS", "Workload", "Run", "Measured", "measure_all", "run_isolated", "run_block", "write_report",
    "add_bench_parser",
]  # fmt: skip

T = TypeVar("T")

DOC: Final = ROOT / "docs" / "bench.md"
SIZE_PLOT: Final = "bench-region-size.svg"
FOLIO_PLOT: Final = "bench-folio-size.svg"
_GIB: Final = 1 << 30
_MIB: Final = 1 << 20


@dataclass(frozen=True)
class Workload:
    """One ``pinapi bench`` command line of the report: its region size, its
    other options and repeats, and the folio size its region is made of (a
    scaled-down size is rounded down to a multiple of it)."""

    size: int
    options: tuple[str, ...] = ()
    repeats: int = 3
    folio: int = PAGE_SIZE

    def argv(self, scale: float) -> list[str] | None:
        """The command line at *scale*, or None when it is below one folio."""
        size = int(self.size * scale) // self.folio * self.folio
        return ["--size", size_arg(size), *self.options, "--repeats", str(self.repeats)] if size else None


_THP: Final = ("--thp",)
WORKLOADS: Final = {
    "thp-1g": Workload(_GIB, _THP, 5, PMD_SIZE),
    "base-1g": Workload(_GIB, (), 5),
    **{f"base-{n}": Workload(size) for n, size in (("128m", 128 * _MIB), ("512m", 512 * _MIB), ("2g", 2 * _GIB))},
    **{f"thp-{n}": Workload(size, _THP, 3, PMD_SIZE)
       for n, size in (("128m", 128 * _MIB), ("512m", 512 * _MIB), ("2g", 2 * _GIB))},  # fmt: skip
    "thp-4g": Workload(4 * _GIB, _THP, 3, PMD_SIZE),
    "calls-512": Workload(128 * _MIB, ("--nr-pages-per-call", "512")),
    "calls-1": Workload(128 * _MIB, ("--nr-pages-per-call", "1", "--mode", "pin", "--mode", "bvec", "--mode", "floor")),
    "threads-2": Workload(128 * _MIB, ("--threads", "2"), 2),
    "hugetlb-2m": Workload(_GIB, ("--hugetlb",), 3, PMD_SIZE),
    "hugetlb-1g": Workload(_GIB, ("--hugetlb", "--hugetlb-size", "1G"), 3, _GIB),
}
_SCALING: Final = {"base": ("base-128m", "base-512m", "base-2g"), "thp": ("thp-128m", "thp-512m", "thp-2g")}
#: The traced touch: the model's allocations for a region, by tracemalloc.
_TRACED: Final = {"base": (256 * _MIB, False, PAGE_SIZE), "thp": (256 * _MIB, True, PMD_SIZE)}


def size_arg(size: int) -> str:
    """*size* as ``--size`` takes it: the largest K, M or G unit it is a multiple of."""
    unit, shift = next((u, s) for u, s in (("G", 30), ("M", 20), ("K", 10), ("", 0)) if not size % (1 << s))
    return f"{size >> shift}{unit}"


def _size_text(size: int) -> str:
    return size_arg(size).replace("K", " KiB").replace("M", " MiB").replace("G", " GiB")


@dataclass
class Run:
    """A workload's command line and its per-mode results; *skipped* says
    why there are none."""

    argv: list[str]
    results: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    skipped: str = ""


@dataclass
class Measured:
    """Everything the report's blocks show, from one run of the report."""

    scale: float
    runs: dict[str, Run]
    traced: dict[str, tuple[int, int, int, list[tuple[str, str, int]]]]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    start: datetime
    seconds: float


def _isolated(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a new interpreter (spawned, not forked: a fork would
    reuse memory its parent freed, and hide the run's own growth), which
    exits after it."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def run_isolated(argv: list[str]) -> Run:
    """A ``pinapi bench`` command line run in a process of its own, so its
    resident-memory figures (touching cost, peak RSS) are its own."""
    return Run(argv, _isolated(bench_results, argv))


def traced_touch(size: int, thp: bool) -> tuple[int, int, int, list[tuple[str, str, int]]]:
    """What mapping and touching a region allocates, by tracemalloc: bytes,
    pages, folios, and the five largest allocation sites in pinapi (``file:line``,
    its source line, bytes)."""
    map_region(PMD_SIZE, thp, False)[0].exit()  # the model's one-time allocations are not the region's
    tracemalloc.start()
    mm, addr = map_region(size, thp, False)
    traced = tracemalloc.get_traced_memory()[0]
    package = tracemalloc.Filter(True, str(ROOT / "pinapi" / "*"))
    stats = tracemalloc.take_snapshot().filter_traces([package]).statistics("lineno")[:5]
    tracemalloc.stop()
    folios = len(region_folios(mm, addr, size))
    mm.exit()
    frames = [(Path(s.traceback[0].filename).relative_to(ROOT), s.traceback[0].lineno, s.size) for s in stats]
    return traced, size // PAGE_SIZE, folios, [(f"{path}:{line}", linecache.getline(str(ROOT / path), line).strip(), n)
                                               for path, line, n in frames]  # fmt: skip


def _bench_options() -> set[str]:
    """The option strings this ``pinapi bench`` takes."""
    sub = argparse.ArgumentParser().add_subparsers()
    bench.add_bench_parser(sub)
    return set(sub.choices["bench"]._option_string_actions)


def _command(argv: Sequence[str]) -> str:
    return f"`python -m pinapi bench {' '.join(argv)}`"


def measure_all(scale: float = 1.0, progress: Callable[[str], None] = lambda line: None) -> Measured:
    """Run every workload at *scale* (1: the report's sizes; less, for a
    quick test of the machinery) and the traced touches."""
    start, t0, load_before = datetime.now(timezone.utc), time.monotonic(), os.getloadavg()
    options = _bench_options()
    runs: dict[str, Run] = {}
    for i, (name, w) in enumerate(WORKLOADS.items(), 1):
        argv = w.argv(scale)
        missing = [o for o in w.options if o.startswith("--") and o not in options]
        if argv is None:
            runs[name] = Run(w.argv(1.0) or [], skipped="scaled below one folio")
        elif missing:
            runs[name] = Run(argv, skipped=f"this pinapi bench has no {missing[0]} option")
        else:
            progress(f"pinapi bench --report: {i}/{len(WORKLOADS)}: {' '.join(argv)} ({time.monotonic() - t0:.0f} s)")
            runs[name] = run_isolated(argv)
    traced: dict[str, tuple[int, int, int, list[tuple[str, str, int]]]] = {}
    for kind, (size, thp, folio) in _TRACED.items():
        progress(f"pinapi bench --report: traced touch, {kind} ({time.monotonic() - t0:.0f} s)")
        traced[kind] = _isolated(traced_touch, max(folio, int(size * scale) // folio * folio), thp)
    return Measured(scale, runs, traced, load_before, os.getloadavg(), start, time.monotonic() - t0)


# Rendering: every function below turns measured results into one block's text.


def _spread(values: Sequence[float], fmt: str = ",.0f") -> str:
    """min / median / max of *values*."""
    s = sorted(values)
    return " / ".join(format(v, fmt) for v in (s[0], statistics.median(s), s[-1])) if s else "-"


def _totals(r: dict[str, Any]) -> list[int]:
    """get+put of every timed round."""
    return [g + p for g, p in zip(r["get_us_all"], r["put_us_all"])]


def _ratios(a: dict[str, Any] | None, b: dict[str, Any] | None) -> list[float]:
    """*a*'s get+put over *b*'s, round by round."""
    return [x / y for x, y in zip(_totals(a), _totals(b)) if y] if a and b else []


def _mode(results: list[dict[str, Any]], mode: str) -> dict[str, Any] | None:
    return next((r for r in results if r["mode"] == mode), None)


def _num(v: object) -> str:
    return f"{v:,}" if isinstance(v, int | float) else "-"


def _per_page_ns(r: dict[str, Any]) -> list[float]:
    return [t * 1000 / r["pages"] for t in _totals(r)]


def _skipped(run: Run) -> str:
    return f"{_command(run.argv)}: not run: {run.skipped}."


def _run_header(run: Run) -> str:
    r = run.results[0]
    touch = r["touch_rss_kib"] * 1024
    return (f"{_command(run.argv)}: {r['pages']:,} pages in {r['folios']:,} folios; calls: {r['calls']:,} of "
            f"{r['nr_pages_per_call']:,} pages; repeats: {r['repeats']}; threads: {r['threads']}. Each time is "
            f"min / median / max over the {len(r['get_us_all'])} timed rounds; x floor is taken within each round. "
            f"Touching cost (RSS): {touch / r['pages']:,.0f} B per page, {touch / r['folios']:,.0f} B per folio.")  # fmt: skip


def _counter_table(results: list[dict[str, Any]]) -> str:
    """The kernel's cost counters per loop, for the modes that report them."""
    names = list(dict.fromkeys(k for r in results for phase in r.get("kernel", {}).values() for k in phase))
    if not names:
        return ""
    rows = ["| mode | " + " | ".join(f"{n}, get / put" for n in names) + " |", "|---|" + "---:|" * len(names)]
    for r in results:
        k = r.get("kernel", {})
        cells = [f"{_num(k.get('get', {}).get(n))} / {_num(k.get('put', {}).get(n))}" for n in names]
        rows.append(f"| {r['mode']} | " + " | ".join(cells) + " |")
    return "Kernel cost counters per loop of one thread:\n\n" + "\n".join(rows)


def _versus(results: list[dict[str, Any]]) -> str:
    """How much less `bvec` costs than `pin` and `floor`, round by round,
    on a region of huge folios."""
    bvec = _mode(results, "bvec")
    if bvec is None or bvec["folios"] == bvec["pages"]:
        return ""
    parts = [f"{_spread(_ratios(_mode(results, m), bvec), ',.0f')}x less than `{m}`" for m in ("pin", "floor")
             if _ratios(_mode(results, m), bvec)]  # fmt: skip
    return f"Round by round, `bvec` get+put is {' and '.join(parts)} (min / median / max)." if parts else ""


def run_block(run: Run) -> str:
    """A run's header, its table of times and count updates, the kernel's
    counters when the bench reports them, and bvec against the others."""
    if run.skipped:
        return _skipped(run)
    rows = ["| mode | get us | put us | get+put us | x floor, per round | count updates, get | count updates, put |",
            "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    floor = _mode(run.results, "floor")
    for r in run.results:
        rows.append(f"| {r['mode']} | {_spread(r['get_us_all'])} | {_spread(r['put_us_all'])} | {_spread(_totals(r))} "
                    f"| {_spread(_ratios(r, floor), '.2f')} | {r['refcount_ops']:,} | {r['put_refcount_ops']:,} |")  # fmt: skip
    parts = [_run_header(run), "\n".join(rows), _counter_table(run.results), _versus(run.results)]
    return "\n\n".join(p for p in parts if p)


def _one_run(name: str) -> Callable[[Measured, Path], str]:
    return lambda m, out: run_block(m.runs[name])


def _thp_4g(m: Measured, out: Path) -> str:
    run = m.runs["thp-4g"]
    peak = max(r["peak_rss_kib"] for r in run.results)
    return f"{run_block(run)}\n\nPeak RSS of the run's process, every mode included: {peak:,} KiB."


def _hugetlb(m: Measured, out: Path) -> str:
    return "\n\n".join(run_block(m.runs[name]) for name in ("hugetlb-2m", "hugetlb-1g"))


def _modes(runs: Sequence[Run]) -> list[str]:
    return list(dict.fromkeys(r["mode"] for run in runs for r in run.results))


def _scaling_block(kind: str) -> Callable[[Measured, Path], str]:
    def block(m: Measured, out: Path) -> str:
        runs = [m.runs[name] for name in _SCALING[kind]]
        sizes = [_size_text(run.results[0]["bytes"]) for run in runs]
        cmds = ", ".join(_command(run.argv) for run in runs)
        per_page = ["| mode | " + " | ".join(sizes) + " |", "|---|" + "---:|" * len(runs)]
        split = list(per_page)
        for mode in _modes(runs):
            rs = [_mode(run.results, mode) for run in runs]
            per_page.append(f"| {mode} | " + " | ".join(_spread(_per_page_ns(r)) if r else "-" for r in rs) + " |")
            split.append(f"| {mode} | " + " | ".join(
                f"{statistics.median(r['get_us_all']):,.0f} / {statistics.median(r['put_us_all']):,.0f}" if r else "-"
                for r in rs) + " |")  # fmt: skip
        folios = ", ".join(f"{run.results[0]['folios']:,}" for run in runs)
        return (f"{cmds}; {folios} folios. get+put in ns per base page, min / median / max over the repeats:\n\n"
                + "\n".join(per_page) + "\n\nMedian get / put us:\n\n" + "\n".join(split))  # fmt: skip

    return block


def _calls_threads(m: Measured, out: Path) -> str:
    runs = [m.runs[name] for name in ("calls-512", "calls-1", "threads-2")]
    modes = _modes(runs)
    rows = ["| command | calls | " + " | ".join(modes) + " |", "|---|---:|" + "---:|" * len(modes)]
    for run in runs:
        rs = [_mode(run.results, mode) for mode in modes]
        rows.append(f"| {_command(run.argv)} | {run.results[0]['calls']:,} | "
                    + " | ".join(_spread(_totals(r)) if r else "" for r in rs) + " |")  # fmt: skip
    one = m.runs["calls-1"].results
    per_call = ", ".join(f"`{r['mode']}` {statistics.median(_totals(r)) / r['calls']:.1f} us" for r in one)
    return ("get+put us, min / median / max over the timed rounds (with threads, per thread):\n\n" + "\n".join(rows)
            + f"\n\nAt one page per call, the median get+put per call: {per_call}.")  # fmt: skip


def _touch_bytes(run: Run) -> tuple[float, float]:
    """RSS growth over the touch loop, per page and per folio."""
    r = run.results[0]
    return r["touch_rss_kib"] * 1024 / r["pages"], r["touch_rss_kib"] * 1024 / r["folios"]


def _is_thp(run: Run) -> bool:
    return bool(run.results[0]["thp"])


def _is_base(run: Run) -> bool:
    return run.results[0]["thp"] is None and not run.results[0]["hugetlb"]


def _memory(m: Measured, out: Path) -> str:
    rows = ["| command | pages | folios | RSS growth, KiB | B per page | B per folio |", "|---|---:|---:|---:|---:|---:|"]
    for run in m.runs.values():
        if not run.skipped:
            r = run.results[0]
            page, folio = _touch_bytes(run)
            rows.append(f"| {_command(run.argv)} | {r['pages']:,} | {r['folios']:,} | {r['touch_rss_kib']:,} "
                        f"| {page:,.0f} | {folio:,.0f} |")  # fmt: skip
    traced: list[str] = []
    for kind, (total, pages, folios, sites) in m.traced.items():
        traced.append(f"- {_size_text(pages * PAGE_SIZE)}, {'THP' if kind == 'thp' else '4 KiB pages'}: "
                      f"{total / pages:.1f} B per page, {total / folios:,.0f} B per folio; the largest sites:")  # fmt: skip
        traced += [f"  - {size / folios:.1f} B per folio: `{site}` `{code}`" for site, code, size in sites]
    return ("Touching cost of every run: the growth of resident memory from `mmap` to the end of the touch loop "
            "(the process had run nothing else).\n\n" + "\n".join(rows)
            + "\n\nBy tracemalloc (`map_region()` traced in a process of its own), allocated per touched page and "
            "folio:\n\n" + "\n".join(traced))  # fmt: skip


def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else "pass" if ok else "**FAIL**"


def _targets(m: Measured, out: Path) -> str:
    thp, base, big = m.runs["thp-1g"], m.runs["base-1g"], m.runs["thp-4g"]
    rows = ["| target | measured | result | command |", "|---|---|---|---|"]

    def row(target: str, measured: str, ok: bool | None, run: Run) -> None:
        rows.append(f"| {target} | {measured} | {_verdict(ok)} | {_command(run.argv)} |")

    t, b = thp.results, base.results
    pin, bvec, floor = _mode(t, "pin"), _mode(t, "bvec"), _mode(b, "floor")
    assert pin and bvec and floor
    size, folios, pages = _size_text(bvec["bytes"]), bvec["folios"], bvec["pages"]
    ops = (bvec["refcount_ops"], bvec["put_refcount_ops"])
    row(f"{size} THP: `bvec` {folios:,} count updates each way", f"{ops[0]:,} / {ops[1]:,}", ops == (folios, folios), thp)
    ratios = _ratios(pin, bvec)
    row(f"{size} THP: `bvec` get+put at least 100x less than `pin` (the median round)",
        f"{_spread(ratios, ',.0f')}x (min / median / max)", statistics.median(ratios) >= 100, thp)
    base_pin = _mode(b, "pin")
    ratios = _ratios(base_pin, floor)
    row(f"{_size_text(floor['bytes'])} of 4 KiB pages: `pin` get+put at most 2x `floor` in each of "
        f"{len(ratios)} rounds", f"{_spread(ratios, '.2f')}x (min / median / max)", max(ratios) <= 2, base)
    entries = [r.get("kernel", {}).get("get", {}).get("entries") for r in (pin, bvec)]
    row(f"{size} THP: `pin` writes {pages:,} entries, `bvec` {folios:,}",
        "no kernel counters in this bench" if None in entries else f"{entries[0]:,} / {entries[1]:,}",
        None if None in entries else entries == [pages, folios], thp)  # fmt: skip
    large = [run for run in m.runs.values() if not run.skipped and run.results[0]["bytes"] >= _GIB * m.scale]
    for test, unit, limit, what in ((_is_base, 0, 256, "touched 4 KiB page"), (_is_thp, 1, 2048, "touched THP")):
        touched = [_touch_bytes(run)[unit] for run in large if test(run)]
        rows.append(f"| at most {limit:,} B resident per {what} beyond the data | {min(touched):,.0f} to "
                    f"{max(touched):,.0f} B (RSS, over the {len(touched)} runs of {_size_text(int(_GIB * m.scale))} "
                    f"or more) | {_verdict(max(touched) <= limit)} | the memory table |")  # fmt: skip
    peak = max(r["peak_rss_kib"] for r in big.results)
    row(f"a {_size_text(big.results[0]['bytes'])} THP region benchmarkable on this machine",
        f"{len(big.results)} modes, peak RSS {peak / 1024:,.0f} MiB", True, big)
    return "\n".join(rows)


def _machine(m: Measured, out: Path) -> str:
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.processor())
    with open("/proc/meminfo") as f:
        ram = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:")) / (1 << 20)
    end = m.start.timestamp() + m.seconds
    scale = "" if m.scale == 1 else f" (every size scaled by {m.scale:g})"
    return "\n".join([
        f"- command: `python -m pinapi bench --report`{scale}, {len(m.runs)} command lines, each in a process of its own",
        f"- CPU: {cpu}, {os.cpu_count()} logical CPUs; RAM {ram:.1f} GiB",
        f"- system: {platform.system()} {platform.release()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
        f"- load average (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in m.load_before)} before, "
        f"{', '.join(f'{v:.2f}' for v in m.load_after)} after",
        f"- date: {m.start:%Y-%m-%d %H:%M:%S} to {datetime.fromtimestamp(end, timezone.utc):%H:%M:%S} UTC; "
        f"total run time {m.seconds:.0f} s",
    ])  # fmt: skip


def _plot_note(runs: Sequence[Run]) -> str:
    made = ", ".join(_command(run.argv) for run in runs if not run.skipped)
    notes = " ".join(_skipped(run) for run in runs if run.skipped)
    return f"Each point is the median over the repeats of {made}. {notes}".rstrip()


def _size_plot(m: Measured, out: Path) -> str:
    """Plot 1: get+put against region size per mode, base pages and THP."""
    runs = {kind: [m.runs[name] for name in names] for kind, names in _SCALING.items()}
    series: list[Series] = []
    for i, mode in enumerate(_modes([*runs["base"], *runs["thp"]])):
        for kind, label in (("base", "4 KiB pages"), ("thp", "THP")):
            pts = [(r["bytes"], statistics.median(_totals(r))) for run in runs[kind] if (r := _mode(run.results, mode))]
            series.append(Series(f"{mode}, {label}", pts, PALETTE[i % len(PALETTE)], kind == "thp"))
    ticks = {r["bytes"]: _size_text(r["bytes"]) for run in runs["base"] for r in run.results[:1]}
    (out / SIZE_PLOT).write_text(log_log_chart(series, "gup_test get+put against region size (log-log)",
                                               "region size", "get+put time (us)", ticks))  # fmt: skip
    return (f"![get+put time against region size, per mode; solid 4 KiB pages, dashed THP]({SIZE_PLOT})\n\n"
            + _plot_note([*runs["base"], *runs["thp"]]))  # fmt: skip


def _folio_plot(m: Measured, out: Path) -> str:
    """Plot 2: get+put per base page against folio size per mode: THP and hugetlb."""
    lines = {"THP": ("base-1g", "thp-1g"), "hugetlb": ("base-1g", "hugetlb-2m", "hugetlb-1g")}
    used = [m.runs[name] for name in dict.fromkeys(n for names in lines.values() for n in names)]
    series: list[Series] = []
    for i, mode in enumerate(_modes(used)):
        for label, names in lines.items():
            rs = [r for name in names if (r := _mode(m.runs[name].results, mode))]
            pts = [(r["bytes"] / r["folios"], statistics.median(_per_page_ns(r))) for r in rs]
            series.append(Series(f"{mode}, {label}", pts, PALETTE[i % len(PALETTE)], label == "hugetlb"))
    ticks = {float(size): _size_text(size) for size in (PAGE_SIZE, PMD_SIZE, _GIB)}
    (out / FOLIO_PLOT).write_text(log_log_chart(series, "gup_test get+put per base page against folio size",
                                                "folio size", "get+put per base page (ns)", ticks))  # fmt: skip
    return (f"![get+put per base page against folio size, per mode; solid THP, dashed hugetlb]({FOLIO_PLOT})\n\n"
            + _plot_note(used))  # fmt: skip


#: Block name -> its text from a run, given the folder the plots go to.
SECTIONS: Final[dict[str, Callable[[Measured, Path], str]]] = {
    "machine": _machine,
    "targets": _targets,
    "thp-1g": _one_run("thp-1g"),
    "base-1g": _one_run("base-1g"),
    "scaling-base": _scaling_block("base"),
    "scaling-thp": _scaling_block("thp"),
    "plot-size": _size_plot,
    "thp-4g": _thp_4g,
    "calls-threads": _calls_threads,
    "hugetlb": _hugetlb,
    "plot-folio": _folio_plot,
    "memory": _memory,
}


def write_report(doc: Path, scale: float = 1.0, progress: Callable[[str], None] = lambda line: None) -> Measured:
    """Rerun the workloads at *scale* and rewrite *doc*'s blocks, and the
    plots beside it; CommandError, before anything runs, when *doc* cannot
    be read or lacks a block."""
    try:
        text = doc.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise CommandError(f"--report {doc}: {getattr(e, 'strerror', None) or e}") from None
    missing = sorted(set(SECTIONS) - set(generated_blocks(text)))
    if missing:
        raise CommandError(f"--report {doc}: no generated block for {', '.join(missing)}")
    m = measure_all(scale, progress)
    doc.write_text(regenerate(text, {name: partial(fn, m, doc.parent) for name, fn in SECTIONS.items()}))
    return m


def _cmd_bench(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    if args.report is None:
        return run(args)
    parser: argparse.ArgumentParser = args.parser
    defaults: dict[str, object] = vars(parser.parse_args([]))
    other = next((k for k, v in defaults.items() if k != "report" and getattr(args, k) != v), None)
    if other is not None:
        parser.error(f"--report runs its own command lines; it takes no --{other.replace('_', '-')}")
    require_checkout("the benchmark report (--report)")
    try:
        m = write_report(Path(args.report), progress=lambda line: print(line, file=sys.stderr, flush=True))
    except (KernelError, RuntimeError) as e:
        print(f"pinapi bench: {e}", file=sys.stderr)
        return 1
    print(f"regenerated {len(SECTIONS)} blocks of {args.report}, {SIZE_PLOT} and {FOLIO_PLOT} in {m.seconds:.0f} s")
    return 0


def add_bench_parser(sub: Any) -> None:
    """``pinapi bench`` (the wheel's gup_test) and, from a source checkout,
    ``--report [FILE]``."""
    bench.add_bench_parser(sub)
    p = sub.choices["bench"]
    p.add_argument("--report", nargs="?", const=str(DOC), metavar="FILE",
                   help="rerun every workload behind docs/bench.md (a few minutes) and rewrite its generated "
                        "blocks and plots; FILE defaults to the checkout's docs/bench.md")  # fmt: skip
    p.set_defaults(func=partial(_cmd_bench, p.get_default("func")))
