"""``pinapi bench``: the kernel's gup_test, run against the model.

As ``tools/testing/selftests/mm/gup_test.c`` does, it maps a region (default
128 MB of private anonymous memory: what a MAP_PRIVATE mapping of /dev/zero
is), touches every page by writing one zero byte, then, for each mode, times
the get loop and the put loop separately and prints gup_test's line
``<COMMAND>: Time: get:<us> put:<us> us`` (``, truncated (size: <bytes>)``
when a get call came back short) per repeat and thread, then a summary.
Modes, by the gup_test command each line is named after:

    gup           GUP_BASIC_TEST          get_user_pages_remote() + put_page() per page
    gup-fast      GUP_FAST_BENCHMARK      get_user_pages_fast() + put_page() per page
    pin           PIN_BASIC_TEST          vaddr_pin_pages() + unpin_user_pages()
    pin-fast      PIN_FAST_BENCHMARK      pin_user_pages_fast() + unpin_user_pages()
    pin-longterm  PIN_LONGTERM_BENCHMARK  vaddr_pin_pages(FOLL_LONGTERM) + unpin_user_pages()
    bvec          BVEC_BENCHMARK          get_user_bvec() + put_user_bvec()
    floor         FLOOR_BENCHMARK         the least a pure-Python per-page walk
                  costs: look each page up in the page table, add to one
                  integer, append it to a list; then undo that

bvec and floor are pinapi's own, not gup_test's; gup_test prints no times for
its *_BASIC_TEST commands, pinapi times every mode. The fast modes run as a
task whose current->mm is the region's. The modes' rounds are interleaved
(round 1 of every mode, then round 2, ...), and the other modes are read as
multiples of floor measured in the same round. A mode whose first get the
engine refuses (FOLL_LONGTERM on a shared ext4 mapping, flags from -F it does
not take) fails alone: one line on stderr, the other modes still run, exit 1.

-c (DUMP_USER_PAGES_TEST) runs no mode: it gets the region's pages with
get_user_pages_remote() (-p: pins them with vaddr_pin_pages()), prints
dump_page() and the first bytes of the data of each chosen page (0-based
indices, default page 0, at most GUP_TEST_MAX_PAGES_TO_DUMP), and puts
them back.

The cyclic garbage collector is paused while a loop is timed (reference
counting still frees everything), as the kernel has no collector to pay for.

Before the timed repeats each mode runs one extra round, untimed, with the
kernel cost counters on (``count_gup_cost()``, ``_mm/gup_cost.py``): per get
loop and per put loop, the folio count updates, the array entries and their
bytes, the folios and struct pages touched, the leaf page-table entries read
and the locks taken, as linux's mm/gup.c would do them. With -z the round
runs after the timed repeats instead, so that the first timed get still
faults the region in. The counters follow the summary as a second table;
``--json`` carries them as ``kernel``.
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
from collections.abc import Callable, Sequence, Sized
from typing import Any, Final, TypeVar

from .._bvec import get_user_bvec, put_user_bvec
from .._mm.debug import dump_page
from .._mm.errors import KernelError
from .._mm.fs import Ext4, File, FileSystem, FsDax, Hugetlbfs, Inode, Shmem
from .._mm.gup import FOLL
from .._mm.kthread import kthread_use_mm
from .._legacy import get_user_pages_fast, get_user_pages_remote, put_page
from .._mm.gup_cost import COUNTERS, PAGE_POINTER_BYTES, count_gup_cost, counting
from .._mm.mmap import (
    MADV_HUGEPAGE, MADV_NOHUGEPAGE, MAP_ANONYMOUS, MAP_HUGE_1GB, MAP_HUGE_2MB, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED,
    MM,
)  # fmt: skip
from .._mm.pgtable import PMD_SHIFT, pte_index
from .._mm.swapfile import SwapEntry
from .._mm.page_alloc import (
    HPAGE_PMD_ORDER, HPAGE_PUD_ORDER, PAGE_SHIFT, PAGE_SIZE, PMD_SIZE, ZERO_FOLIO, Folio, Page, page_read, vmstat,
)  # fmt: skip
from .._pin import (
    PinnedPage, VaddrPin, folio_maybe_dma_pinned, pin_ledger, pin_user_pages_fast, unpin_user_pages, vaddr_pin_pages,
)  # fmt: skip

__all__ = [
    "MODES", "COMMANDS", "FILES", "GUP_TEST_MAX_PAGES_TO_DUMP", "parse_size", "add_bench_parser", "map_region",
    "gup_calls", "time_line", "run_modes", "measure", "bench_results", "run_bench", "dump_user_pages_test",
]  # fmt: skip

MODES: Final = ("gup", "gup-fast", "pin", "pin-fast", "pin-longterm", "bvec", "floor")
#: The gup_test command (ioctl) each mode is, as its lines name it; bvec and
#: floor are pinapi's own, named in the same style.
COMMANDS: Final = {
    "gup": "GUP_BASIC_TEST",
    "gup-fast": "GUP_FAST_BENCHMARK",
    "pin": "PIN_BASIC_TEST",
    "pin-fast": "PIN_FAST_BENCHMARK",
    "pin-longterm": "PIN_LONGTERM_BENCHMARK",
    "bvec": "BVEC_BENCHMARK",
    "floor": "FLOOR_BENCHMARK",
}
#: How many pages one DUMP_USER_PAGES_TEST dumps at most (mm/gup_test.h).
GUP_TEST_MAX_PAGES_TO_DUMP: Final = 8
#: What ``-f`` maps: gup_test's default /dev/zero (anonymous memory; shared,
#: it is shmem), or a file on one of the model's filesystems.
FILES: Final = ("/dev/zero", "tmpfs", "ext4", "hugetlbfs", "fsdax")
#: ``--hugetlb-size``: the hugetlb page sizes, by folio order.
_HUGETLB_ORDERS: Final = {"2M": HPAGE_PMD_ORDER, "1G": HPAGE_PUD_ORDER}
_UNITS: Final = {"": 0, "K": 10, "M": 20, "G": 30}
#: Page indices and -F flags are read as strtol(text, NULL, 0) reads them.
_STRTOL: Final = re.compile(r"0[xX](?P<hex>[0-9a-fA-F]+)|(?P<oct>0[0-7]*)|(?P<dec>[1-9][0-9]*)")

#: A mode's two loops: get over the (addr, nr_pages) calls, returning what it
#: holds and how many pages it got, and put, releasing what it holds.
_Get = Callable[[MM, VaddrPin, list[tuple[int, int]], int], tuple[Any, int]]
_Put = Callable[[Any], None]
_T = TypeVar("_T")
_S = TypeVar("_S", bound=Sized)


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


def gup_calls(addr: int, size: int, nr_per_call: int) -> list[tuple[int, int]]:
    """gup_test's calls over ``[addr, addr + size)``: (start, nr_pages) of
    *nr_per_call* pages each, the last one shorter if the region ends first."""
    return [(a, min(nr_per_call, (addr + size - a) >> PAGE_SHIFT))
            for a in range(addr, addr + size, nr_per_call << PAGE_SHIFT)]  # fmt: skip


def _get_loop(calls: list[tuple[int, int]], grab: Callable[[int, int], tuple[_T, int]]) -> tuple[list[_T], int]:
    """gup_test's get loop: *grab* (what it holds, pages got) per call, up to
    the first call that comes back short or fails: the result is truncated
    there, and what was got is still put. A failure of the first call is
    the mode's error."""
    held: list[_T] = []
    got = 0
    for addr, nr in calls:
        try:
            batch, n = grab(addr, nr)
        except KernelError:
            if held:
                break
            raise
        held.append(batch)
        got += n
        if n != nr:
            break
    return held, got


def _counted(batch: _S) -> tuple[_S, int]:
    """A call's result and how many pages it got, for a call that may come back short."""
    return batch, len(batch)


def _gup_get(mm: MM, owner: VaddrPin, calls: list[tuple[int, int]], flags: int) -> tuple[Any, int]:
    return _get_loop(calls, lambda addr, nr: _counted(get_user_pages_remote(mm, addr, nr, flags)))


def _gup_fast_get(mm: MM, owner: VaddrPin, calls: list[tuple[int, int]], flags: int) -> tuple[Any, int]:
    with kthread_use_mm(mm):
        return _get_loop(calls, lambda addr, nr: _counted(get_user_pages_fast(addr, nr, flags)))


def _gup_put(batches: Any) -> None:
    cost = counting.active
    for pages in batches:
        if cost is not None:  # gup_test's put_page(pages[i]) reads each entry
            cost.array(len(pages), PAGE_POINTER_BYTES)
        for page in pages:
            put_page(page)


def _pin_get(mm: MM, owner: VaddrPin, calls: list[tuple[int, int]], flags: int) -> tuple[Any, int]:
    return _get_loop(calls, lambda addr, nr: (vaddr_pin_pages(addr, nr, flags, owner), nr))  # all or nothing


def _pin_fast_get(mm: MM, owner: VaddrPin, calls: list[tuple[int, int]], flags: int) -> tuple[Any, int]:
    with kthread_use_mm(mm):
        return _get_loop(calls, lambda addr, nr: _counted(pin_user_pages_fast(addr, nr, flags)))


def _pin_longterm_get(mm: MM, owner: VaddrPin, calls: list[tuple[int, int]], flags: int) -> tuple[Any, int]:
    return _pin_get(mm, owner, calls, flags | FOLL.LONGTERM)


def _pin_put(batches: Any) -> None:
    for batch in batches:
        unpin_user_pages(batch)


def _bvec_get(mm: MM, owner: VaddrPin, calls: list[tuple[int, int]], flags: int) -> tuple[Any, int]:
    return _get_loop(calls, lambda addr, nr: (get_user_bvec(addr, nr << PAGE_SHIFT, flags, owner), nr))


def _bvec_put(bvecs: Any) -> None:
    for bvec in bvecs:
        put_user_bvec(bvec, False)


def _floor_get(mm: MM, owner: VaddrPin, calls: list[tuple[int, int]], flags: int) -> tuple[Any, int]:
    pmds = mm.pgtable.pmds()
    held: list[Page | SwapEntry | Folio | None] = []
    count = 0  # the one integer: what a per-page count update would touch
    for addr, nr in calls:
        for a in range(addr, addr + (nr << PAGE_SHIFT), PAGE_SIZE):
            try:
                entry = pmds[a >> PMD_SHIFT]
            except KeyError:  # nothing faulted in there yet (-z)
                entry = None
            held.append(entry[pte_index(a)] if isinstance(entry, list) else entry)
            count += 1
    cost = counting.active
    if cost is not None:  # a leaf read and a pointer written per page; no struct page, no lock
        cost.ptes += count
        cost.array(count, PAGE_POINTER_BYTES)
    return (held, count), count


def _floor_put(floor: Any) -> None:
    held, count = floor
    cost = counting.active
    if cost is not None:
        cost.array(len(held), PAGE_POINTER_BYTES)
    for _ in held:
        count -= 1
    held.clear()


_PINNING: Final = ("pin", "pin-fast", "pin-longterm", "bvec")
_LOOPS: Final[dict[str, tuple[_Get, _Put]]] = {
    "gup": (_gup_get, _gup_put),
    "gup-fast": (_gup_fast_get, _gup_put),
    "pin": (_pin_get, _pin_put),
    "pin-fast": (_pin_fast_get, _pin_put),
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


def _filesystem(name: str, huge_order: int) -> FileSystem:
    """A new filesystem of the kind ``-f`` names."""
    return Hugetlbfs(huge_order) if name == "hugetlbfs" else {"tmpfs": Shmem, "ext4": Ext4, "fsdax": FsDax}[name]()


def map_region(size: int, thp: bool | None, hugetlb: bool, *, shared: bool = False, file: str = "/dev/zero",
               huge_order: int = HPAGE_PMD_ORDER, touch: bool = True) -> tuple[MM, int]:  # fmt: skip
    """gup_test's setup: open *file* (one of ``FILES``: a new file of *size*
    bytes on a filesystem of that kind), mmap it MAP_SHARED or MAP_PRIVATE
    (*hugetlb*: anonymous MAP_HUGETLB pages of *huge_order*), madvise, and
    unless *touch* is False (``-z``: GUP faults the pages in) write a zero
    byte to every page."""
    mm = MM("gup_test")
    flags = MAP_SHARED if shared else MAP_PRIVATE
    if hugetlb:
        flags |= MAP_HUGETLB | (MAP_HUGE_1GB if huge_order == HPAGE_PUD_ORDER else MAP_HUGE_2MB)
    opened = None
    if hugetlb or file == "/dev/zero":
        flags |= MAP_ANONYMOUS
    else:
        opened = File(Inode(_filesystem(file, huge_order), size), file)
    addr = mm.mmap(size, flags=flags, file=opened)
    if thp is not None:
        mm.madvise(addr, size, MADV_HUGEPAGE if thp else MADV_NOHUGEPAGE)
    for a in range(addr, addr + size, PAGE_SIZE) if touch else ():
        if not a % (64 * PMD_SIZE):
            _progress(f"touching: {(a - addr) >> 20} of {size >> 20} MiB")
        mm.write(a, b"\0")
    return mm, addr


def region_folios(mm: MM, addr: int, size: int) -> list[Folio]:
    """The distinct folios the page tables map for ``[addr, addr + size)``."""
    seen: dict[int, Folio] = {}
    end = addr + size
    for base in range(addr & ~(PMD_SIZE - 1), end, PMD_SIZE):
        entry = mm.pgtable.pmd(base)
        if type(entry) is Folio:
            seen[id(entry)] = entry
        elif entry is not None:
            ptes = entry[pte_index(max(addr, base)) : pte_index(min(end, base + PMD_SIZE) - 1) + 1]
            seen.update((id(page.folio), page.folio) for page in ptes if isinstance(page, Page))
    return list(seen.values())


def verify_dma_pinned(mode: str, mm: MM, addr: int, size: int) -> None:
    """gup_test's untimed check between the loops: after a pinning mode's get
    loop every folio of the region is ``folio_maybe_dma_pinned()``, but the
    shared zero page (a read of untouched anonymous memory maps it), which is
    never really pinned."""
    if mode in _PINNING:
        unpinned = [f for f in region_folios(mm, addr, size) if not folio_maybe_dma_pinned(f) and f is not ZERO_FOLIO]
        if unpinned:
            raise RuntimeError(f"{mode}: {len(unpinned)} folios not dma-pinned after the get loop")


def time_line(mode: str, get_us: int, put_us: int, got: int, size: int) -> str:
    """gup_test's line for one timed round of *mode*, which got *got* of the
    region's *size* bytes."""
    line = f"{COMMANDS[mode]}: Time: get:{get_us} put:{put_us} us"
    return line if got == size else f"{line}, truncated (size: {got})"


class _ModeRun:
    """One mode's get and put loops over the region, run round by round
    (:func:`run_modes` interleaves the modes' rounds)."""

    def __init__(self, mode: str, mm: MM, addr: int, size: int, nr_per_call: int, gup_flags: int) -> None:
        self.mode = mode
        self.mm, self.addr, self.size, self.nr_per_call, self.gup_flags = mm, addr, size, nr_per_call, gup_flags
        self.owner = VaddrPin(mm=mm)
        self.calls = gup_calls(addr, size, nr_per_call)
        self.times: list[tuple[int, int]] = []
        self.ops: list[int] = []  # refcount operations of each loop of the first round, all threads
        self.kernel: dict[str, dict[str, int]] = {}
        self.error: str | None = None

    def count(self) -> None:
        """The untimed round with the kernel cost counters on; a refusal by
        the engine is the mode's error."""
        try:
            self.kernel = _counted_round(self.mode, self.mm, self.owner, self.calls, self.gup_flags)
        except KernelError as e:
            self.error = str(e)

    def round(self, threads: int, out: Callable[[str], None]) -> None:
        """One timed round in each of *threads* threads, then the check that
        no pin is left; a refusal by the engine is the mode's error."""
        get, put = _LOOPS[self.mode]
        errors: list[BaseException] = []
        lock = threading.Lock()
        mark = [vmstat.nr_refcount_ops]
        first = not self.times

        def phase_done() -> None:
            if first:
                self.ops.append(vmstat.nr_refcount_ops - mark[0])
            mark[0] = vmstat.nr_refcount_ops

        barrier = threading.Barrier(threads, action=phase_done)

        def worker() -> None:
            try:
                t0 = time.perf_counter_ns()
                held, got = get(self.mm, self.owner, self.calls, self.gup_flags)
                t1 = time.perf_counter_ns()
                verify_dma_pinned(self.mode, self.mm, self.addr, got << PAGE_SHIFT)
                barrier.wait()
                t2 = time.perf_counter_ns()
                put(held)
                t3 = time.perf_counter_ns()
                barrier.wait()
                with lock:
                    self.times.append(((t1 - t0) // 1000, (t3 - t2) // 1000))
                    out(time_line(self.mode, *self.times[-1], got << PAGE_SHIFT, self.size))
            except BaseException as e:  # reported by the caller; the other threads must not wait
                errors.append(e)
                barrier.abort()

        acquired, released = vmstat.nr_foll_pin_acquired, vmstat.nr_foll_pin_released
        if threads == 1:
            worker()  # in this thread: a new one may start on another CPU, its caches cold
        else:
            workers = [threading.Thread(target=worker, name=f"{self.mode}-{n}") for n in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        if errors and isinstance(errors[0], KernelError):
            self.error = str(errors[0])
        elif errors:
            raise errors[0]
        if vmstat.nr_foll_pin_acquired - acquired != vmstat.nr_foll_pin_released - released or pin_ledger():
            raise RuntimeError(f"{self.mode}: pins left behind after the put loop")

    def result(self, repeats: int, threads: int) -> dict[str, Any]:
        """Times in microseconds (best, and every round), refcount
        operations and the counters per loop of one thread."""
        if self.error is not None:
            return {"mode": self.mode, "error": self.error}
        return {
            "mode": self.mode,
            "bytes": self.size,
            "pages": self.size >> PAGE_SHIFT,
            "folios": len(region_folios(self.mm, self.addr, self.size)),
            "nr_pages_per_call": self.nr_per_call,
            "calls": len(self.calls),
            "threads": threads,
            "repeats": repeats,
            "get_us": min(t[0] for t in self.times),
            "put_us": min(t[1] for t in self.times),
            "get_us_all": [t[0] for t in self.times],
            "put_us_all": [t[1] for t in self.times],
            "refcount_ops": self.ops[0] // threads,
            "put_refcount_ops": self.ops[1] // threads,
            "kernel": self.kernel,
            "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }


def run_modes(modes: Sequence[str], mm: MM, addr: int, size: int, nr_per_call: int, gup_flags: int,
              repeats: int, threads: int, out: Callable[[str], None], *, count_first: bool = True,
              ) -> list[dict[str, Any]]:  # fmt: skip
    """Time each of *modes*' get and put loops *repeats* times in each of
    *threads* threads, the modes' rounds interleaved (round 1 of every mode,
    then round 2, ...), so that a ratio between two modes taken within a
    round compares loops run moments apart; and run each once more, untimed,
    with the kernel cost counters on: before the timed rounds, or after them
    if not *count_first* (a region left for the first get to fault in).
    Returns each mode's result; a mode the engine refused has ``error``
    (the engine's message) instead of figures."""
    runs = [_ModeRun(mode, mm, addr, size, nr_per_call, gup_flags) for mode in modes]
    if count_first:
        for run in runs:
            run.count()
    gc.collect()
    gc.disable()
    try:
        for i in range(repeats):
            for run in runs:
                if run.error is None:
                    _progress(f"round {i + 1} of {repeats}: {run.mode}")
                    run.round(threads, out)
    finally:
        gc.enable()
    if not count_first:
        for run in runs:
            if run.error is None:
                run.count()
    return [run.result(repeats, threads) for run in runs]


def _counted_round(mode: str, mm: MM, owner: VaddrPin, calls: list[tuple[int, int]],
                   gup_flags: int) -> dict[str, dict[str, int]]:  # fmt: skip
    """One get loop and one put loop of *mode*, untimed, each counted by
    ``count_gup_cost()``: ``{"get": {counter: n}, "put": {...}}``."""
    get, put = _LOOPS[mode]
    _progress(f"{mode}: counting")
    with count_gup_cost() as got:
        held, _ = get(mm, owner, calls, gup_flags)
    with count_gup_cost() as released:
        put(held)
    return {"get": got.as_dict(), "put": released.as_dict()}


def _map(args: argparse.Namespace) -> tuple[MM, int]:
    """:func:`map_region` as the command line asks for it."""
    return map_region(args.size, args.thp, args.hugetlb, shared=args.shared, file=args.file,
                      huge_order=_huge_order(args), touch=args.touch)  # fmt: skip


def _gup_flags(args: argparse.Namespace) -> int:
    """``-F``'s flags, with FOLL_WRITE added for ``-w`` (gup_test's
    ``if (write) gup.gup_flags |= FOLL_WRITE``)."""
    flags: int = args.gup_flags
    return flags | FOLL.WRITE if args.write else flags


def _nr_per_call(args: argparse.Namespace) -> int:
    nr: int = args.nr_pages_per_call or args.size >> PAGE_SHIFT
    return nr


def measure(args: argparse.Namespace, out: Callable[[str], None] = lambda line: None) -> list[dict[str, Any]]:
    """Set the region up once, then run each mode over it; every mode's
    result, each with the run's settings and the touching cost. A mode whose
    first get call the engine refused has ``error`` (the engine's message)
    instead of figures."""
    rss0 = _rss_kib()
    mm, addr = _map(args)
    touched = _rss_kib() - rss0
    flags = _gup_flags(args)
    settings = {"thp": args.thp, "hugetlb": args.hugetlb, "hugetlb_size": args.hugetlb_size, "write": args.write,
                "gup_flags": flags, "file": args.file, "shared": args.shared, "touch": args.touch,
                "touch_rss_kib": touched}  # fmt: skip
    try:
        results = run_modes(args.mode or MODES, mm, addr, args.size, _nr_per_call(args), flags, args.repeats,
                            args.threads, out, count_first=args.touch)  # fmt: skip
    finally:
        _progress("")
        mm.exit()
    for r in results:
        r.update(settings)
    return results


def bench_results(argv: list[str]) -> list[dict[str, Any]]:
    """:func:`measure` for a ``pinapi bench`` command line (without the
    command), as another tool runs it: ``bench_results(["--size", "1G"])``."""
    parser = argparse.ArgumentParser(prog="pinapi bench")
    add_bench_parser(parser.add_subparsers())
    return measure(_checked(parser.parse_args(["bench", *argv])))


def run_bench(args: argparse.Namespace) -> int:
    """``pinapi bench``: each repeat's line as it is timed, then the summary
    (with ``--json``: one JSON object per mode instead); with ``--dump``,
    DUMP_USER_PAGES_TEST instead. Exit status 1 if a mode failed."""
    if args.dump:
        mm, addr = _map(args)
        try:
            dump_user_pages_test(mm, addr, args.size, _nr_per_call(args), _gup_flags(args), args.pages or [0],
                                 args.use_pin, print)  # fmt: skip
        finally:
            mm.exit()
        return 0
    results = measure(args, (lambda line: None) if args.json else print)
    failed = [r for r in results if "error" in r]
    for r in failed:
        print(f"pinapi bench: {COMMANDS[r['mode']]}: {r['error']}", file=sys.stderr)
    if args.json:
        for r in results:
            print(json.dumps(r), flush=True)
    elif len(failed) < len(results):
        timed = [r for r in results if "error" not in r]
        _summary(timed, timed[0]["touch_rss_kib"])
    return 1 if failed else 0


def dump_user_pages_test(mm: MM, addr: int, size: int, nr_per_call: int, gup_flags: int, which: list[int],
                         use_pin: bool, out: Callable[[str], None]) -> None:  # fmt: skip
    """DUMP_USER_PAGES_TEST: get the pages of ``[addr, addr + size)`` in
    calls of *nr_per_call* with plain references (*use_pin*: pins, so the
    refcount shown includes the pin's), then, for each 0-based page index in
    *which*, print ``dump_page()`` and the page's first 16 bytes, read
    through the reference or the pin; put everything back."""
    mode = "pin" if use_pin else "gup"
    get, put = _LOOPS[mode]
    held, got = get(mm, VaddrPin(mm=mm), gup_calls(addr, size, nr_per_call), gup_flags)
    try:
        verify_dma_pinned(mode, mm, addr, got << PAGE_SHIFT)
        taken: list[Page | PinnedPage[Any]] = [page for batch in held for page in batch]
        for i, index in enumerate(which):
            if index >= got:  # gup_test's dump_pages_test() zeroes these
                out(f"ZEROING due to out of range: .which_pages[{i}]: {index + 1}")
                continue
            h = taken[index]
            page = h if isinstance(h, Page) else mm.lookup(addr + (index << PAGE_SHIFT))
            assert page is not None  # nothing unmapped it since it was pinned
            out(f"---- page #{index}, starting from user virt addr: {addr:#x}")
            for line in dump_page(page):
                out(line)
            out(f"data: {(page_read(h, 0, 16) if isinstance(h, Page) else h.read(0, 16)).hex(' ')}")
    finally:
        put(held)
    out("DUMP_USER_PAGES_TEST: done")
    if got << PAGE_SHIFT != size:
        out(f"Truncated (size: {got << PAGE_SHIFT})")


def _summary(results: list[dict[str, Any]], touched_kib: int) -> None:
    floor = next((r["get_us"] + r["put_us"] for r in results if r["mode"] == "floor"), None)
    r0 = results[0]
    print(f"\n{r0['bytes'] >> 20} MiB, {r0['pages']} pages in {r0['folios']} folios, "
          f"{r0['calls']} calls of {r0['nr_pages_per_call']} pages; touching cost "
          f"{touched_kib * 1024 / r0['pages']:.0f} bytes per page, "
          f"{touched_kib * 1024 / max(r0['folios'], 1):.0f} per folio")  # fmt: skip
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


def _megabytes(text: str) -> int:
    """gup_test's ``-m``: a whole number of MB (MiB), at least 1."""
    return _count(1)(text) << 20


def _strtol(text: str) -> int:
    """``strtol(text, NULL, 0)`` of a whole number: decimal, 0x hex or 0 octal."""
    m = _STRTOL.fullmatch(text)
    if m is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (decimal, 0x hex or 0 octal)")
    return int(m["hex"], 16) if m["hex"] else int(m["oct"], 8) if m["oct"] else int(m["dec"])


def _u32(text: str) -> int:
    """``-F``: what gup_test's 32-bit ``gup_flags`` field holds."""
    value = _strtol(text)
    if value >= 1 << 32:
        raise argparse.ArgumentTypeError(f"{text!r} does not fit gup_test's 32-bit gup_flags")
    return value


def _huge_order(args: argparse.Namespace) -> int:
    return _HUGETLB_ORDERS[args.hugetlb_size or "2M"]


def _usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the options taken together, if anything."""
    huge = args.hugetlb or args.file == "hugetlbfs"
    nr_pages = args.size >> PAGE_SHIFT
    problems = [
        (args.hugetlb and args.file != "/dev/zero",
         "--hugetlb maps anonymous memory (gup_test's -H ignores -f); for a hugetlbfs file use --file hugetlbfs"),
        (args.hugetlb_size is not None and not huge, "--hugetlb-size needs --hugetlb or --file hugetlbfs"),
        (huge and args.size % (PAGE_SIZE << _huge_order(args)),
         f"hugetlb pages need a size that is a multiple of {args.hugetlb_size or '2M'}"),
        (huge and args.thp is not None, "hugetlb pages and --thp/--no-thp exclude each other"),
        (args.thp and (args.shared or args.file != "/dev/zero"),
         "--thp: the model backs only private anonymous memory with transparent huge pages"),
        (args.use_pin and not args.dump, "-p/--use-pin works only with -c/--dump, as in gup_test"),
        (args.pages and not args.dump, "page indices are for -c/--dump only"),
        (args.dump and (args.mode or args.repeats != 1 or args.threads != 1 or args.json),
         "-c/--dump runs once, on its own: no --mode, --repeats, --threads or --json"),
        (len(args.pages) > GUP_TEST_MAX_PAGES_TO_DUMP,
         f"at most {GUP_TEST_MAX_PAGES_TO_DUMP} pages to dump (GUP_TEST_MAX_PAGES_TO_DUMP)"),
        (any(index >= nr_pages for index in args.pages),
         f"page {max(args.pages, default=0)} is beyond the region's {nr_pages} pages (0-based)"),
    ]
    return next((message for bad, message in problems if bad), None)


def _checked(args: argparse.Namespace) -> argparse.Namespace:
    """*args*, after a usage error (exit 2) if its options do not go together."""
    problem = _usage_problem(args)
    if problem is not None:
        args.parser.error(problem)
    return args


def _cmd_bench(args: argparse.Namespace) -> int:
    try:
        return run_bench(_checked(args))
    except (KernelError, RuntimeError) as e:  # a failed dump or check ends the run
        print(f"pinapi bench: {e}", file=sys.stderr)
        return 1


def add_bench_parser(sub: Any) -> None:
    p = sub.add_parser("bench", help="gup_test: time the get and put loops of each pinning API",
                       description=(__doc__ or "").replace("``", ""),  # the docstring, as plain text
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="The single letters are gup_test's own options.")  # fmt: skip
    p.add_argument("--size", type=parse_size, default=128 << 20, help="region size, e.g. 128M, 1G (default 128M)")
    p.add_argument("-m", dest="size", type=_megabytes, metavar="MB", help="region size in MB, as gup_test's -m")
    p.add_argument("-n", "--nr-pages-per-call", type=_count(0), default=0, metavar="N",
                   help="pages per get call; 0, the default, is the whole region in one call (gup_test's "
                        "default is 1, but the model's fixed cost per call, about 12 us, is not the "
                        "kernel's and would swamp bvec)")  # fmt: skip
    p.add_argument("-t", "--thp", action=argparse.BooleanOptionalAction, default=None,
                   help="MADV_HUGEPAGE / MADV_NOHUGEPAGE the region (default: neither: base pages)")  # fmt: skip
    p.add_argument("-T", dest="thp", action="store_false", default=None, help="--no-thp")
    p.add_argument("-H", "--hugetlb", action="store_true", help="map anonymous hugetlb pages (MAP_HUGETLB)")
    p.add_argument("--hugetlb-size", choices=_HUGETLB_ORDERS,
                   help="the hugetlb page size of --hugetlb or --file hugetlbfs (default 2M; 1G is MAP_HUGE_1GB)")
    p.add_argument("-f", "--file", choices=FILES, default="/dev/zero",
                   help="what to map: /dev/zero (the default: anonymous memory), or a new file the size "
                        "of the region on a model filesystem")  # fmt: skip
    p.add_argument("-S", "--shared", action="store_true",
                   help="MAP_SHARED instead of MAP_PRIVATE (of /dev/zero: shmem, in small folios)")
    p.add_argument("-z", "--no-touch", dest="touch", action="store_false",
                   help="do not touch the pages first: GUP faults them in (gup_test's -z adds FOLL_TOUCH, "
                        "which the model does not have)")  # fmt: skip
    p.add_argument("-w", "--write", action=argparse.BooleanOptionalAction, default=True,
                   help="add FOLL_WRITE (default on, as in gup_test); -W does not clear one given in -F")
    p.add_argument("-W", dest="write", action="store_false", help="--no-write")
    p.add_argument("-F", "--gup-flags", type=_u32, default=0, metavar="FLAGS",
                   help="raw gup_flags, read as strtol base 0 (0x400, 1024); the engine validates them as any "
                        "caller's: flags it refuses (FOLL_PIN, FOLL_GET, bits it does not know, FOLL_TOUCH "
                        "0x2 among them) fail each mode's get, exit 1, as gup_test's ioctl fails; a value that "
                        "is not a whole number or does not fit gup_test's 32-bit field is a usage error")  # fmt: skip
    p.add_argument("-r", "--repeats", type=_count(1), default=1, help="timed get/put rounds per thread")
    p.add_argument("-j", "--threads", type=_count(1), default=1, help="threads, each running every round")
    p.add_argument("--mode", action="append", choices=MODES, help="a mode to run; repeat for more (default: all)")
    for flag, mode in (("-U", "gup"), ("-u", "gup-fast"), ("-b", "pin"), ("-a", "pin-fast"), ("-L", "pin-longterm")):
        p.add_argument(flag, dest="mode", action="append_const", const=mode, help=f"--mode {mode} ({COMMANDS[mode]})")
    p.add_argument("-c", "--dump", action="store_true",
                   help="DUMP_USER_PAGES_TEST: dump the PAGEs (default page 0) instead of timing modes")
    p.add_argument("-p", "--use-pin", action="store_true",
                   help="with -c: pin the pages (GUP_TEST_FLAG_DUMP_PAGES_USE_PIN) instead of plain references")
    p.add_argument("pages", nargs="*", type=_strtol, metavar="PAGE",
                   help=f"with -c: 0-based page indices (strtol base 0), at most {GUP_TEST_MAX_PAGES_TO_DUMP}")
    p.add_argument("--json", action="store_true", help="print one JSON object per mode instead")
    p.set_defaults(func=_cmd_bench, parser=p)
