"""``pinapi bench``: the kernel's gup_test, run against the model.

As ``tools/testing/selftests/mm/gup_test.c`` does, it maps a private
anonymous region (default 128 MB), touches every page by writing one zero
byte, then, for each mode, times the get loop and the put loop separately and
prints ``<mode>: Time: get:<us> put:<us> us`` per repeat and thread, then a
summary. Modes:

    gup           get_user_pages_remote() + put_page() per page
    pin           vaddr_pin_pages() + unpin_user_pages()
    pin-longterm  the same with FOLL_LONGTERM
    bvec          get_user_bvec() + put_user_bvec()
    floor         the least a pure-Python per-page walk costs: look each page
                  up in the page table, add to one integer, append it to a
                  list; then undo that

The other modes are read as multiples of ``floor`` measured in the same run.
The cyclic garbage collector is paused while a loop is timed (reference
counting still frees everything), as the kernel has no collector to pay for.

Before the timed repeats each mode runs one extra round, untimed, with the
kernel cost counters on (``count_gup_cost()``, ``_mm/gup_cost.py``): per get
loop and per put loop, the folio count updates, the array entries and their
bytes, the folios and struct pages touched, the leaf page-table entries read
and the locks taken, as linux's mm/gup.c would do them. They follow the
summary as a second table; ``--json`` carries them as ``kernel``.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import resource
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from .._bvec import get_user_bvec, put_user_bvec
from .._mm.errors import KernelError
from .._mm.gup import FOLL
from .._legacy import get_user_pages_remote, put_page
from .._mm.gup_cost import COUNTERS, PAGE_POINTER_BYTES, count_gup_cost, counting
from .._mm.mmap import (
    MADV_HUGEPAGE, MADV_NOHUGEPAGE, MAP_ANONYMOUS, MAP_HUGETLB, MAP_PRIVATE, MM,
)  # fmt: skip
from .._mm.pgtable import PMD_SHIFT, pte_index
from .._mm.swapfile import SwapEntry
from .._mm.page_alloc import PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, Folio, Page, vmstat
from .._pin import VaddrPin, folio_maybe_dma_pinned, pin_ledger, unpin_user_pages, vaddr_pin_pages

__all__ = ["MODES", "parse_size", "add_bench_parser", "measure", "bench_results", "run_bench"]

MODES: Final = ("gup", "pin", "pin-longterm", "bvec", "floor")
_UNITS: Final = {"": 0, "K": 10, "M": 20, "G": 30}

#: A mode's two loops: get over the (addr, nr_pages) calls, returning what it
#: holds, and put, releasing it.
_Get = Callable[[MM, VaddrPin, list[tuple[int, int]], int], Any]
_Put = Callable[[Any], None]


def parse_size(text: str) -> int:
    """A size in bytes, with an optional K, M or G (binary) suffix: a positive
    multiple of the page size."""
    m = re.fullmatch(r"(\d+)([KMG]?)", text.strip().upper())
    if m is None:
        raise argparse.ArgumentTypeError(f"bad size {text!r}: a number with an optional K, M or G suffix")
    size = int(m[1]) << _UNITS[m[2]]
    if size <= 0 or size % PAGE_SIZE:
        raise argparse.ArgumentTypeError(f"size {text!r} is not a positive multiple of {PAGE_SIZE} bytes")
    return size


def _gup_get(mm: MM, owner: VaddrPin, calls: list[tuple[int, int]], flags: int) -> Any:
    pages: list[Page] = []
    for addr, nr in calls:
        got = get_user_pages_remote(mm, addr, nr, flags)
        pages += got
        if len(got) != nr:
            break  # a short result: gup_test stops there too
    return pages


def _gup_put(pages: Any) -> None:
    cost = counting.active
    if cost is not None:  # gup_test's put_page(pages[i]) reads each entry
        cost.array(len(pages), PAGE_POINTER_BYTES)
    for page in pages:
        put_page(page)


def _pin_get(mm: MM, owner: VaddrPin, calls: list[tuple[int, int]], flags: int) -> Any:
    return [vaddr_pin_pages(addr, nr, flags, owner) for addr, nr in calls]


def _pin_longterm_get(mm: MM, owner: VaddrPin, calls: list[tuple[int, int]], flags: int) -> Any:
    return _pin_get(mm, owner, calls, flags | FOLL.LONGTERM)


def _pin_put(batches: Any) -> None:
    for batch in batches:
        unpin_user_pages(batch)


def _bvec_get(mm: MM, owner: VaddrPin, calls: list[tuple[int, int]], flags: int) -> Any:
    return [get_user_bvec(addr, nr << PAGE_SHIFT, flags, owner) for addr, nr in calls]


def _bvec_put(bvecs: Any) -> None:
    for bvec in bvecs:
        put_user_bvec(bvec, False)


def _floor_get(mm: MM, owner: VaddrPin, calls: list[tuple[int, int]], flags: int) -> Any:
    pmds = mm.pgtable.pmds()
    held: list[Page | SwapEntry | Folio | None] = []
    count = 0  # the one integer: what a per-page count update would touch
    for addr, nr in calls:
        for a in range(addr, addr + (nr << PAGE_SHIFT), PAGE_SIZE):
            entry = pmds[a >> PMD_SHIFT]
            held.append(entry[pte_index(a)] if isinstance(entry, list) else entry)
            count += 1
    cost = counting.active
    if cost is not None:  # a leaf read and a pointer written per page; no struct page, no lock
        cost.ptes += count
        cost.array(count, PAGE_POINTER_BYTES)
    return held, count


def _floor_put(floor: Any) -> None:
    held, count = floor
    cost = counting.active
    if cost is not None:
        cost.array(len(held), PAGE_POINTER_BYTES)
    for _ in held:
        count -= 1
    held.clear()


_PINNING: Final = ("pin", "pin-longterm", "bvec")
_LOOPS: Final[dict[str, tuple[_Get, _Put]]] = {
    "gup": (_gup_get, _gup_put),
    "pin": (_pin_get, _pin_put),
    "pin-longterm": (_pin_longterm_get, _pin_put),
    "bvec": (_bvec_get, _bvec_put),
    "floor": (_floor_get, _floor_put),
}


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE_SIZE // 1024


def _progress(text: str) -> None:
    if sys.stderr.isatty():
        print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True)


def map_region(size: int, thp: bool | None, hugetlb: bool) -> tuple[MM, int]:
    """gup_test's setup: mmap, madvise, and write a zero byte to every page."""
    mm = MM("gup_test")
    addr = mm.mmap(size, flags=MAP_PRIVATE | MAP_ANONYMOUS | (MAP_HUGETLB if hugetlb else 0))
    if thp is not None:
        mm.madvise(addr, size, MADV_HUGEPAGE if thp else MADV_NOHUGEPAGE)
    for a in range(addr, addr + size, PAGE_SIZE):
        if not a % (64 * PMD_SIZE):
            _progress(f"touching: {(a - addr) >> 20} of {size >> 20} MiB")
        mm.write(a, b"\0")
    return mm, addr


def region_folios(mm: MM, addr: int, size: int) -> list[Folio]:
    """The distinct folios the page tables map for ``[addr, addr + size)``
    (the region is alone in its MM, so whole PTE tables can be read)."""
    seen: dict[int, Folio] = {}
    for idx in range(addr >> PMD_SHIFT, ((addr + size - 1) >> PMD_SHIFT) + 1):
        entry = mm.pgtable.pmd(idx << PMD_SHIFT)
        if type(entry) is Folio:
            seen[id(entry)] = entry
        elif entry is not None:
            seen.update((id(page.folio), page.folio) for page in entry if isinstance(page, Page))
    return list(seen.values())


def verify_dma_pinned(mode: str, mm: MM, addr: int, size: int) -> None:
    """gup_test's untimed check between the loops: after a pinning mode's get
    loop every folio of the region is ``folio_maybe_dma_pinned()``."""
    if mode in _PINNING:
        unpinned = [f for f in region_folios(mm, addr, size) if not folio_maybe_dma_pinned(f)]
        if unpinned:
            raise RuntimeError(f"{mode}: {len(unpinned)} folios not dma-pinned after the get loop")


def run_mode(mode: str, mm: MM, addr: int, size: int, nr_per_call: int, gup_flags: int,
             repeats: int, threads: int, out: Callable[[str], None]) -> dict[str, Any]:  # fmt: skip
    """Time *mode*'s get and put loops, *repeats* times in each of *threads*
    threads, after one untimed round with the kernel cost counters on;
    returns its results (times in microseconds, refcount operations and the
    counters per loop of one thread)."""
    get, put = _LOOPS[mode]
    owner = VaddrPin(mm=mm)
    pages = size >> PAGE_SHIFT
    calls = [(a, min(nr_per_call, (addr + size - a) >> PAGE_SHIFT))
             for a in range(addr, addr + size, nr_per_call << PAGE_SHIFT)]  # fmt: skip
    _progress(f"{mode}: counting")
    kernel = _counted_round(get, put, mm, owner, calls, gup_flags)
    times: list[tuple[int, int]] = []
    phase_ops: list[int] = []
    mark = [vmstat.nr_refcount_ops]
    errors: list[BaseException] = []
    lock = threading.Lock()

    def phase_done() -> None:
        phase_ops.append(vmstat.nr_refcount_ops - mark[0])
        mark[0] = vmstat.nr_refcount_ops

    barrier = threading.Barrier(threads, action=phase_done)

    def worker() -> None:
        try:
            for i in range(repeats):
                _progress(f"{mode}: repeat {i + 1} of {repeats}")
                t0 = time.perf_counter_ns()
                held = get(mm, owner, calls, gup_flags)
                t1 = time.perf_counter_ns()
                verify_dma_pinned(mode, mm, addr, size)
                barrier.wait()
                t2 = time.perf_counter_ns()
                put(held)
                t3 = time.perf_counter_ns()
                barrier.wait()
                with lock:
                    times.append(((t1 - t0) // 1000, (t3 - t2) // 1000))
                    out(f"{mode}: Time: get:{times[-1][0]} put:{times[-1][1]} us")
        except BaseException as e:  # reported by run_bench; the other threads must not wait
            errors.append(e)
            barrier.abort()

    acquired, released = vmstat.nr_foll_pin_acquired, vmstat.nr_foll_pin_released
    gc.collect()
    gc.disable()
    try:
        workers = [threading.Thread(target=worker, name=f"{mode}-{n}") for n in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    finally:
        gc.enable()
    if errors:
        raise errors[0]
    if vmstat.nr_foll_pin_acquired - acquired != vmstat.nr_foll_pin_released - released or pin_ledger():
        raise RuntimeError(f"{mode}: pins left behind after the put loop")
    return {
        "mode": mode,
        "bytes": size,
        "pages": pages,
        "folios": len(region_folios(mm, addr, size)),
        "nr_pages_per_call": nr_per_call,
        "calls": len(calls),
        "threads": threads,
        "repeats": repeats,
        "get_us": min(t[0] for t in times),
        "put_us": min(t[1] for t in times),
        "get_us_all": [t[0] for t in times],
        "put_us_all": [t[1] for t in times],
        "refcount_ops": phase_ops[0] // threads,
        "put_refcount_ops": phase_ops[1] // threads,
        "kernel": kernel,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def _counted_round(get: _Get, put: _Put, mm: MM, owner: VaddrPin, calls: list[tuple[int, int]],
                   gup_flags: int) -> dict[str, dict[str, int]]:  # fmt: skip
    """One get loop and one put loop, untimed, each counted by
    ``count_gup_cost()``: ``{"get": {counter: n}, "put": {...}}``."""
    with count_gup_cost() as got:
        held = get(mm, owner, calls, gup_flags)
    with count_gup_cost() as released:
        put(held)
    return {"get": got.as_dict(), "put": released.as_dict()}


def measure(args: argparse.Namespace, out: Callable[[str], None] = lambda line: None) -> list[dict[str, Any]]:
    """Set the region up once, then run each mode over it; every mode's
    result, each with the run's settings and the touching cost."""
    rss0 = _rss_kib()
    mm, addr = map_region(args.size, args.thp, args.hugetlb)
    touched = _rss_kib() - rss0
    nr = args.nr_pages_per_call or args.size >> PAGE_SHIFT
    flags = FOLL.WRITE if args.write else 0
    results: list[dict[str, Any]] = []
    try:
        for mode in args.mode or MODES:
            r = run_mode(mode, mm, addr, args.size, nr, flags, args.repeats, args.threads, out)
            r.update(thp=args.thp, hugetlb=args.hugetlb, write=args.write, touch_rss_kib=touched)
            results.append(r)
    finally:
        _progress("")
        mm.exit()
    return results


def bench_results(argv: list[str]) -> list[dict[str, Any]]:
    """:func:`measure` for a ``pinapi bench`` command line (without the
    command), as another tool runs it: ``bench_results(["--size", "1G"])``."""
    parser = argparse.ArgumentParser(prog="pinapi bench")
    add_bench_parser(parser.add_subparsers())
    return measure(parser.parse_args(["bench", *argv]))


def run_bench(args: argparse.Namespace) -> int:
    """``pinapi bench``: each repeat's line as it is timed, then the summary
    (with ``--json``: one JSON object per mode instead)."""
    results = measure(args, (lambda line: None) if args.json else print)
    if args.json:
        for r in results:
            print(json.dumps(r), flush=True)
    else:
        _summary(results, results[0]["touch_rss_kib"])
    return 0


def _summary(results: list[dict[str, Any]], touched_kib: int) -> None:
    floor = next((r["get_us"] + r["put_us"] for r in results if r["mode"] == "floor"), None)
    r0 = results[0]
    print(f"\n{r0['bytes'] >> 20} MiB, {r0['pages']} pages in {r0['folios']} folios, "
          f"{r0['calls']} calls of {r0['nr_pages_per_call']} pages; touching cost "
          f"{touched_kib * 1024 / r0['pages']:.0f} bytes per page, "
          f"{touched_kib * 1024 / r0['folios']:.0f} per folio")  # fmt: skip
    print(f"{'mode':<13}{'get us':>10}{'put us':>10}{'total us':>10}{'x floor':>9}"
          f"{'ops get':>9}{'ops put':>9}{'peak RSS KiB':>14}")  # fmt: skip
    for r in results:
        total = r["get_us"] + r["put_us"]
        ratio = f"{total / floor:.2f}" if floor else "-"
        print(f"{r['mode']:<13}{r['get_us']:>10}{r['put_us']:>10}{total:>10}{ratio:>9}"
              f"{r['refcount_ops']:>9}{r['put_refcount_ops']:>9}{r['peak_rss_kib']:>14}")  # fmt: skip
    print("\nkernel counters per loop of one thread (an extra untimed round; docs/bench.md):")
    print(f"{'mode':<13}{'loop':<5}" + "".join(f"{name:>11}" for name in COUNTERS))
    for r in results:
        for loop in ("get", "put"):
            print(f"{r['mode']:<13}{loop:<5}" + "".join(f"{r['kernel'][loop][name]:>11}" for name in COUNTERS))


def _count(least: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < least:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= {least}")
        return int(text)

    return parse


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.hugetlb and args.size % PMD_SIZE:
        args.parser.error("--hugetlb needs a size that is a multiple of 2M")
    if args.hugetlb and args.thp is not None:
        args.parser.error("--hugetlb and --thp/--no-thp exclude each other")
    try:
        return run_bench(args)
    except (KernelError, RuntimeError) as e:  # a failed get or check ends the run
        print(f"pinapi bench: {e}", file=sys.stderr)
        return 1


def add_bench_parser(sub: Any) -> None:
    p = sub.add_parser("bench", help="gup_test: time the get and put loops of each pinning API",
                       description=(__doc__ or "").replace("``", ""),  # the docstring, as plain text
                       formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--size", type=parse_size, default=128 << 20, help="region size, e.g. 128M, 1G (default 128M)")
    p.add_argument("--nr-pages-per-call", type=_count(0), default=0, metavar="N",
                   help="pages per get call; 0, the default, is the whole region in one call")  # fmt: skip
    p.add_argument("--thp", action=argparse.BooleanOptionalAction, default=None,
                   help="MADV_HUGEPAGE / MADV_NOHUGEPAGE the region (default: neither: base pages)")  # fmt: skip
    p.add_argument("--hugetlb", action="store_true", help="map 2 MiB hugetlb pages (MAP_HUGETLB)")
    p.add_argument("--write", action=argparse.BooleanOptionalAction, default=True,
                   help="FOLL_WRITE (default on, as in gup_test)")  # fmt: skip
    p.add_argument("--repeats", type=_count(1), default=1, help="timed get/put rounds per thread")
    p.add_argument("--threads", type=_count(1), default=1, help="threads, each running every round")
    p.add_argument("--mode", action="append", choices=MODES, help="a mode to run; repeat for more (default: all)")
    p.add_argument("--json", action="store_true", help="print one JSON object per mode instead")
    p.set_defaults(func=_cmd_bench, parser=p)
