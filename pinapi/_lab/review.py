"""``pinapi review``: regenerate every table in docs/review.md from the model.

The document's prose is hand-written; each generated block sits between
``<!-- generated:NAME -->`` and ``<!-- end:NAME -->`` and is rewritten from
scratch by the section function of that name. Deterministic sections are
checked by the tests; timed ones say which run and machine they come from.
"""

from __future__ import annotations

import argparse
import ast
import platform
import time
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final

from .._tools.bench import MODES as BENCH_MODES
from .._tools.checkout import ROOT, require_checkout
from .._tools.bench import map_region, run_modes
from .bench_report import run_block, run_isolated
from .c_contract import CError, Cell, build_table, conversion_table, detection_table, measure
from .blocks import generated_blocks, regenerate
from .checker_table import CHECKERS, CHECKERS_DOC, before_results, gallery_results, table
from .drivers_table import call_sites
from .evidence import EXPERIMENTS, run_experiment
from .._mm.fs import Ext4
from .._mm.gup import FOLL
from .._legacy import get_page, get_user_pages_remote, release_pages
from .._mm.mmap import MM
from .._mm.page_alloc import PAGE_SHIFT, PAGE_SIZE, alloc_folio, folio_put, kernel_lock
from .._pin import VaddrPin, folio_maybe_dma_pinned, unpin_user_pages, vaddr_pin_pages
from .svg import PALETTE, Series, log_log_chart
from .race import DIRTY_READ_PIN_RELEASES, Mode, Schedule, all_schedules, dirty_read_pin, fails
from .._mm.pin_tracking import ExactCounter, LookupTree, PageFlag, PinTracking, RefcountBias, use_tracking


__all__ = ["SECTIONS", "C_SECTIONS", "TIMED", "add_review_parser", "shared_page_rates", "pin_capacity"]

STRATEGIES: Final[tuple[type[PinTracking], ...]] = (RefcountBias, ExactCounter, PageFlag, LookupTree)
_GROUP: Final = 64  # pages per workload group


def shared_page_rates(strategy: PinTracking) -> dict[str, int]:
    """``maybe_dma_pinned`` against the truth on four groups of small pages:
    pinned once; pinned twice with one pin released; never pinned but held by
    1025-1088 plain references (a page spliced or mapped many times); never
    pinned with a few references."""
    with use_tracking(strategy), kernel_lock:
        mm = MM("review")
        owner = VaddrPin(mm=mm)
        a = mm.mmap(4 * _GROUP * PAGE_SIZE)
        mm.write(a, b"\x5a" * (4 * _GROUP * PAGE_SIZE))
        page = [a + i * PAGE_SIZE for i in range(4 * _GROUP)]
        once = vaddr_pin_pages(page[0], _GROUP, 0, owner)
        twice = [vaddr_pin_pages(page[_GROUP], _GROUP, 0, owner) for _ in range(2)]
        unpin_user_pages(twice[1])
        shared = get_user_pages_remote(mm, page[2 * _GROUP], _GROUP, 0)
        for i, p in enumerate(shared):
            for _ in range(1024 + i):
                get_page(p)
        few = get_user_pages_remote(mm, page[3 * _GROUP], _GROUP, 0)
        truth = [True] * (2 * _GROUP) + [False] * (2 * _GROUP)
        seen = [folio_maybe_dma_pinned(mm.lookup(x).folio) for x in page]  # type: ignore[union-attr]
        unpin_user_pages(once)
        unpin_user_pages(twice[0])
        for p in shared:
            release_pages([p] * (1024 + shared.index(p)))
        release_pages(shared)
        release_pages(few)
        mm.exit()
    return {
        "pinned": sum(truth),
        "false_negatives": sum(t and not s for t, s in zip(truth, seen)),
        "unpinned": len(truth) - sum(truth),
        "false_positives": sum(s and not t for t, s in zip(truth, seen)),
    }


def pin_capacity(strategy: PinTracking, order: int) -> int:
    """The most one-page pins one fresh folio of *order* takes before the
    strategy refuses one, found by asking it: a binary search on *k* - 1
    pins in one batched grab followed by one more."""
    folio = alloc_folio(order)
    lo, hi = 0, 1 << 32
    while lo < hi:
        mid = (lo + hi + 1) // 2
        taken = strategy.try_grab_pins([folio, folio], [mid - 1, 1])
        strategy.put_pins([folio, folio][:taken], [mid - 1, 1][:taken])
        lo, hi = (mid, hi) if taken == 2 else (lo, mid - 1)
    folio_put(folio)
    return lo


def _strategies_section() -> str:
    rows = ["| strategy | pinned pages missed (FN) | unpinned pages reported pinned (FP) | "
            "max pins, small folio | max pins, 2 MiB folio | extra bytes per page, unpinned / pinned |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for cls in STRATEGIES:
        s = cls()
        r = shared_page_rates(s)
        probe = alloc_folio(0)
        unpinned = s.bytes_per_folio(probe)
        s.try_grab_pins([probe], [1])
        pinned = s.bytes_per_folio(probe)
        s.put_pins([probe], [1])
        rows.append(
            f"| {s.name} | {r['false_negatives']}/{r['pinned']} | {r['false_positives']}/{r['unpinned']} "
            f"| {pin_capacity(s, 0):,} | {pin_capacity(s, 9):,} | {unpinned} / {pinned} |"
        )
    return "\n".join(rows)


def _time_strategy(strategy: PinTracking, pages: int, per_call: int) -> float:
    with use_tracking(strategy):
        mm = MM("review-timing")
        owner = VaddrPin(mm=mm)
        a = mm.mmap(pages * PAGE_SIZE)
        mm.write(a, b"\1" * (pages * PAGE_SIZE))
        t0 = time.perf_counter()
        for off in range(0, pages, per_call):
            unpin_user_pages(vaddr_pin_pages(a + off * PAGE_SIZE, per_call, 0, owner))
        elapsed = time.perf_counter() - t0
        mm.exit()
    return elapsed


def _strategy_timing_section() -> str:
    pages, per_call = 65536, 512
    base = min(_time_strategy(RefcountBias(), pages, per_call) for _ in range(3))
    rows = [f"Pin + unpin of {pages} touched 4 KiB pages, {per_call} per call, best of 3; "
            f"{_machine()}.", "", "| strategy | time per page (ns) | ratio to refcount-bias |", "|---|---|---|"]  # fmt: skip
    for cls in STRATEGIES:
        t = base if cls is RefcountBias else min(_time_strategy(cls(), pages, per_call) for _ in range(3))
        rows.append(f"| {cls.name} | {t / pages * 1e9:.0f} | {t / base:.2f} |")
    return "\n".join(rows)


def _machine() -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"run {now} on {platform.machine()} {platform.python_implementation()} {platform.python_version()}"


def _api_reference_section() -> str:
    stub = ROOT / "stubs" / "pinapi" / "__init__.pyi"
    tree = ast.parse(stub.read_text())
    entries: dict[str, tuple[list[str], str]] = {}  # an overloaded name: one row, a signature per overload
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
            if isinstance(node, ast.FunctionDef):
                sig = f"`{node.name}({ast.unparse(node.args)}) -> {ast.unparse(node.returns) if node.returns else 'None'}`"
            else:
                bases = ", ".join(ast.unparse(b) for b in node.bases)
                sig = f"`class {node.name}{f'({bases})' if bases else ''}`"
            doc = (ast.get_docstring(node) or "").split("\n\n")[0].replace("\n", " ")
            entries.setdefault(node.name, ([], doc))[0].append(sig.replace("|", "&#124;"))
    rows = ["| name | signature | rule |", "|---|---|---|"]
    rows += [f"| `{name}` | {'<br>'.join(sigs)} | {rule.replace('|', '&#124;')} |" for name, (sigs, rule) in entries.items()]
    return "\n".join(rows)


RACE_LENGTH: Final = 5


def _race_section() -> str:
    runs: list[tuple[str, Mode, Callable[[], Ext4], PinTracking]] = [
        ("get_user_pages + set_page_dirty_lock + put_page", "gup", Ext4, RefcountBias()),
        ("the same, on today's ext4 (warns, drops the page)", "gup",
         lambda: Ext4(bug_on_no_buffers=False), RefcountBias()),
        ("get_user_pages, dirtied by the write fault only", "gup-dirty-on-get", Ext4, RefcountBias()),
        ("vaddr_pin_pages + unpin_user_pages_dirty_lock", "pin", Ext4, RefcountBias()),
        ("vaddr_pin_pages, dirtied by the write fault only", "pin-dirty-on-get", Ext4, RefcountBias()),
        ("vaddr_pin_pages, exact-counter tracking", "pin", Ext4, ExactCounter()),
        ("vaddr_pin_pages, lookup-tree tracking", "pin", Ext4, LookupTree()),
        ("vaddr_pin_pages, page-flag tracking", "pin", Ext4, PageFlag()),
    ]  # fmt: skip
    rows = ["| DMA path | schedules | end in the ext4 BUG | lose DMA data | shortest failing schedule |",
            "|---|---|---|---|---|"]  # fmt: skip
    for label, mode, fs, strategy in runs:
        counts = {"BUG": 0, "lost data": 0}
        total = 0
        shortest: Schedule | None = None
        with use_tracking(strategy):
            for length in range(1, RACE_LENGTH + 1):
                for schedule in all_schedules(length):
                    total += 1
                    outcome = fails(schedule, mode, fs())
                    if outcome is not None:
                        counts[outcome] += 1
                        shortest = shortest or schedule
        first = ", ".join(op for op, _ in shortest) if shortest else "none"
        rows.append(f"| {label} | {total:,} | {counts['BUG']:,} | {counts['lost data']:,} | {first} |")
    return "\n".join(rows)


def _bare_pages_section() -> str:
    rows = ["| mistake, on bare struct pages | debug counter off | debug counter on |", "|---|---|---|"]
    for name in EXPERIMENTS:
        rows.append(f"| {name} | {run_experiment(name, False)} | {run_experiment(name, True)} |")
    return "\n".join(rows)


#: What a C mistake the build accepts does at run time, by its ``misuse:``
#: kind in c/; "leak" is what the debug counter WARNs on (bare-pages table).
_AT_RUN_TIME: Final = {
    "leak": "never: silent leak",
    "bug": "run time: BUG",
    "einval": "run time: -EINVAL",
    "race": "never: rare BUG or lost data",
    "legal": "not a bug",
    "old-api": "never",
    "corrupt": "never: the zero page or a COW-shared page is written",
    "dirty": "never: ext4 BUG or a lost store",
}
_DEBUG_LEAK: Final = "debug builds, if the path runs: WARN, still leaks"


def _c_verdict(cell: Cell | None, debug_counter: bool = False) -> str:
    """When a C variant catches a class: the build for the units gcc or
    sparse reports, the run time for the rest."""
    if cell is None:
        return "n/a"
    caught = [o for o, _ in cell.outcomes if o != "accepted"]
    kinds = dict.fromkeys(k for o, ks in cell.outcomes if o == "accepted" for k in ks)
    run = " / ".join(_DEBUG_LEAK if debug_counter and k == "leak" else _AT_RUN_TIME[k] for k in kinds)
    tools = " and ".join(dict.fromkeys(caught))
    if not kinds:
        return f"build: {tools}"
    return f"build: {tools} {len(caught)} of {len(cell.outcomes)}; else {run}" if caught else run


def _proposals_section() -> str:
    """Misuse class x proposal: when each proposal catches the mistake; the C
    columns from c/misuse/ under pin.h's variants, the last from the checkers."""
    cells = gallery_results()
    c_cells = measure().cells
    head = ("| misuse class | put_user_page*() at every site (a) | + the debug counter | rename to "
            "vaddr_pin_pages() (b) | C types (c) | sparse `__pinned` (d) | distinct types (this contract) |")  # fmt: skip
    rows = [head, "|---|---|---|---|---|---|---|"]
    for name in sorted(n for n in cells if n != "ok/"):
        c = c_cells.get(name[:-3], {})
        typed = cells[name]["mypy"].startswith("rejected") and cells[name]["pyright"].startswith("rejected")
        rows.append(f"| `{name[:-3]}` | {_c_verdict(c.get('convention'))} | {_c_verdict(c.get('convention'), True)} | "
                    f"{_c_verdict(c.get('rename'))} | {_c_verdict(c.get('types'))} | {_c_verdict(c.get('sparse'))} | "
                    f"{'type check' if typed else 'not always'} |")  # fmt: skip
    return "\n".join(rows)


def _c_table_section() -> str:
    return build_table(measure())


def _c_conversion_section() -> str:
    return conversion_table(measure())


def _c_detection_section() -> str:
    return detection_table(measure())


def _checkers_section() -> str:
    """The checker x misuse table of docs/checkers.md, from the same run."""
    text, _ = table()
    return "\n".join(line for line in text.splitlines() if line.startswith("|"))


def _before_drivers_section() -> str:
    """The thirteen 2019 call sites as written then: the lines each checker
    reports (the marked ones are the mistakes)."""
    head = " | ".join(f"{name} {version(name)}" for name in CHECKERS)
    rows = [f"| 2019 driver | marked lines | {head} |", "|---|---|" + "---|" * len(CHECKERS)]
    for name, (marked, cells) in before_results().items():
        rows.append(f"| `{name[:-3]}` | {', '.join(map(str, marked))} | {' | '.join(cells.values())} |")
    return "\n".join(rows)


def _dirty_read_pin_section() -> str:
    """A read pin of a page of a shared ext4 mapping that was only read,
    released each way, then a store through the mapping and writeback."""
    rows = ["| release of a pin taken without FOLL_WRITE | 2018 ext4 (BUG_ON) | today's ext4 (warn, drop) |",
            "|---|---|---|"]  # fmt: skip
    for how, label in DIRTY_READ_PIN_RELEASES.items():
        rows.append(f"| {label} | {dirty_read_pin(Ext4(), how)} | {dirty_read_pin(Ext4(bug_on_no_buffers=False), how)} |")
    return "\n".join(rows)


def _bench(size: int, thp: bool, repeats: int) -> list[dict[str, Any]]:
    mm, addr = map_region(size, thp, False)
    try:
        return run_modes(BENCH_MODES, mm, addr, size, size >> PAGE_SHIFT, FOLL.WRITE, repeats, 1, lambda _: None)
    finally:
        mm.exit()


def _bench_ops_section() -> str:
    """The kernel cost counters of each mode's get and put loop, the whole
    region in one call: deterministic."""
    rows = ["| region | mode | loop | count updates | array entries | array bytes | folios touched "
            "| struct pages touched | leaf entries read | locks |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, thp in (("64 MiB of THP", True), ("64 MiB of 4 KiB pages", False)):
        for r in _bench(64 << 20, thp, 1):
            if r["mode"] == "floor":
                continue
            for loop in ("get", "put"):
                k = r["kernel"][loop]
                rows.append(f"| {label} | {r['mode']} | {loop} | {k['atomics']:,} | {k['entries']:,} | {k['bytes']:,} "
                            f"| {k['folios']:,} | {k['pages']:,} | {k['ptes']:,} | {k['locks']:,} |")  # fmt: skip
    return "\n".join(rows)


def _bench_time_section() -> str:
    """gup_test at 1 GiB, THP and 4 KiB pages: the times beside the kernel
    cost counters, as ``pinapi bench --report`` renders a run."""
    runs = [run_isolated(argv) for argv in (["--size", "1G", "--thp", "--repeats", "3"], ["--size", "1G", "--repeats", "3"])]
    return "\n\n".join([f"Measured {_machine()}.", *(run_block(run) for run in runs)])


PLOT: Final = ROOT / "docs" / "bench-scaling.svg"
_PLOT_SIZES: Final = (32, 64, 128, 256, 512)  # MiB
def _plot_section() -> str:
    """Writes docs/bench-scaling.svg; the block says which run made it."""
    points: dict[str, list[tuple[float, float]]] = {mode: [] for mode in BENCH_MODES}
    for size in _PLOT_SIZES:
        for r in _bench(size << 20, True, 3):
            points[r["mode"]].append((size, r["get_us"] + r["put_us"]))
    series = [Series(mode, pts, PALETTE[i % len(PALETTE)]) for i, (mode, pts) in enumerate(points.items())]
    PLOT.write_text(log_log_chart(series, "gup_test get+put over THP-backed memory (log-log)", "region size",
                                  "get+put time (us)", {size: f"{size} MiB" for size in _PLOT_SIZES}))
    return (f"![get+put time against region size, per mode](bench-scaling.svg)\n\n"
            f"Best of 3 per point, the whole region per call; {_machine()}.")


CASES: Final = {
    1: "Direct IO: short-lived DMA into or out of user pages",
    2: "RDMA: long-lived DMA",
    3: "MMU-notifier driver that drops the page on invalidate",
    4: "manipulates only struct page",
    5: "writes the page's data",
}


def _cases_section() -> str:
    sites = call_sites()
    rows = ["| case | what the caller does | API the corpus uses | sites | for example |", "|---|---|---|---|---|"]
    for case, what in CASES.items():
        mine = [s for s in sites if s.case == case]
        apis = ", ".join(f"{api} ({sum(s.api == api for s in mine)})" for api in sorted({s.api for s in mine}))
        clear = [s for s in mine if not s.judgement] or mine
        example = clear[0]
        rows.append(f"| {case} | {what} | {apis} | {len(mine)} | [{example.module}]"
                    f"(../examples/drivers/{example.module}.py): `{example.kernel_files[0]}` |")  # fmt: skip
    judged = sum(1 for s in sites if s.judgement)
    return "\n".join(rows) + f"\n\n{len(sites)} modules, {judged} of them judgement calls (see docs/drivers.md)."


#: The sections that run gcc, sparse and spatch.
C_SECTIONS: Final[dict[str, Callable[[], str]]] = {
    "proposals": _proposals_section,
    "c-table": _c_table_section,
    "c-conversion": _c_conversion_section,
    "c-detection": _c_detection_section,
}
SECTIONS: Final[dict[str, Callable[[], str]]] = {
    **C_SECTIONS,
    "checkers": _checkers_section,
    "before-drivers": _before_drivers_section,
    "cases": _cases_section,
    "strategies": _strategies_section,
    "race": _race_section,
    "dirty-read-pin": _dirty_read_pin_section,
    "bare-pages": _bare_pages_section,
    "bench-ops": _bench_ops_section,
    "api-reference": _api_reference_section,
}
TIMED: Final[dict[str, Callable[[], str]]] = {
    "strategy-timing": _strategy_timing_section,
    "bench-time": _bench_time_section,
    "bench-plot": _plot_section,
}

def _cmd_review(args: argparse.Namespace) -> int:
    require_checkout("the review (docs/review.md and the examples it measures)")
    doc = Path(args.doc)
    sections = dict(SECTIONS) if args.no_timing else {**SECTIONS, **TIMED}
    try:
        text = regenerate(doc.read_text(), sections)
    except CError as e:
        print(f"pinapi review: {e}")
        return 2
    missing = set(sections) - set(generated_blocks(text))
    if missing:
        print(f"pinapi review: {doc} has no block for {', '.join(sorted(missing))}")
        return 2
    doc.write_text(text)
    CHECKERS_DOC.write_text(table()[0])
    print(f"regenerated {len(sections)} sections of {doc} and {CHECKERS_DOC.name}")
    return 0


def add_review_parser(sub: Any) -> None:
    p = sub.add_parser("review", help="regenerate the tables and figures of docs/review.md",
                       description="Rerun every workload behind docs/review.md and rewrite its generated "
                                   "blocks, its plot and docs/checkers.md (about 30 s).")  # fmt: skip
    p.add_argument("--doc", default="docs/review.md", metavar="FILE",
                   help="the review document whose generated blocks are rewritten (default: docs/review.md)")
    p.add_argument("--no-timing", action="store_true", help="only the deterministic sections")
    p.set_defaults(func=_cmd_review)
