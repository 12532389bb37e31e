"""Threads: every operation that changes mm state holds kernel_lock, so pins
and unpins on some threads, and migration, reclaim, writeback, fork, mmap and
munmap on others, leave every count exact and every byte where the device put
it. The interpreter switches threads every microsecond meanwhile, so an
operation that ran without the lock would be interrupted inside."""

from __future__ import annotations

import errno
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import pinapi
from pinapi import FOLL_LONGTERM, FOLL_WRITE, MADV_NOHUGEPAGE, MAP_SHARED, MM, PAGE_SIZE, File, KernelError, VaddrPin
from pinapi import lowlevel
from pinapi._mm.filemap import AddressSpace
from pinapi.lowlevel import Ext4, Inode, Zone

PINNERS = 4
ITERATIONS = 2000
ANON_PAGES = 16
FILE_PAGES = 4
MIGRATIONS_PER_ITERATION = 10  # a migration is cheap: attempt one against every pin and unpin


@pytest.fixture
def preempt_often() -> Iterator[None]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def stress(mm: MM, iterations: int) -> dict[str, object]:
    """Run the pinners and the mm operations side by side; returns what was
    checked, for the figures in the closing note."""
    anon = mm.mmap(ANON_PAGES * PAGE_SIZE)
    mm.madvise(anon, ANON_PAGES * PAGE_SIZE, MADV_NOHUGEPAGE)
    mm.write(anon, b"\xee" * (ANON_PAGES * PAGE_SIZE))
    fs = Ext4()
    inode = Inode(fs, FILE_PAGES * PAGE_SIZE)
    shared = mm.mmap(FILE_PAGES * PAGE_SIZE, flags=MAP_SHARED, file=File(inode, "data"))
    mm.write(shared, b"\xff" * (FILE_PAGES * PAGE_SIZE))
    errors: list[BaseException] = []
    last: dict[tuple[int, int], bytes] = {}  # (page address, slot) -> what the device wrote last
    counts = {"migrated": 0, "reclaimed": 0, "forks": 0, "munmaps": 0}  # one thread each
    acquired = lowlevel.vmstat.nr_foll_pin_acquired

    def pinner(t: int) -> None:
        rng = random.Random(t)
        owner = VaddrPin(mm=mm)
        for i in range(iterations):
            in_file = i % 4 == 3
            base, npages = (shared, FILE_PAGES) if in_file else (anon, ANON_PAGES)
            n = rng.randint(1, 4)
            start = base + rng.randrange(npages - n + 1) * PAGE_SIZE
            longterm = not in_file and i % 2
            try:
                pins = pinapi.vaddr_pin_pages(start, n, FOLL_WRITE | (FOLL_LONGTERM if longterm else 0), owner)
            except KernelError as e:  # a page in ZONE_MOVABLE another thread holds cannot move
                assert longterm and e.errno == errno.EBUSY, e
                continue
            tag = b"%02d%06d" % (t, i)
            for k, pin in enumerate(pins):
                pin.write(8 * t, tag)
                assert pin.read(8 * t, 8) == tag
                last[(start + k * PAGE_SIZE, t)] = tag
            pinapi.unpin_user_pages_dirty_lock(pins, make_dirty=True)

    def migrator() -> None:
        rng = random.Random(100)
        for _ in range(MIGRATIONS_PER_ITERATION * iterations):
            base, npages = rng.choice([(anon, ANON_PAGES), (shared, FILE_PAGES)])
            page = mm.lookup(base + rng.randrange(npages) * PAGE_SIZE)
            if page is None:
                continue
            try:
                lowlevel.migrate_folio(page.folio, rng.choice([Zone.NORMAL, Zone.MOVABLE]))
                counts["migrated"] += 1
            except KernelError:  # pinned or referenced just now (EBUSY), or freed (EINVAL)
                pass

    def reclaimer() -> None:
        for _ in range(iterations):
            lowlevel.writeback(inode)
            counts["reclaimed"] += lowlevel.reclaim(inode)

    def forker() -> None:
        for i in range(iterations // 3):
            child = mm.fork(f"child{i}")
            child.read(anon, ANON_PAGES * PAGE_SIZE)
            child.write(anon, b"child")  # its own copy: never the parent's page
            child.exit()
            counts["forks"] += 1

    def unmapper() -> None:
        owner = VaddrPin(mm=mm)
        for i in range(iterations):
            a = mm.mmap(4 * PAGE_SIZE)
            mm.write(a, b"%08d" % i)
            pins = pinapi.vaddr_pin_pages(a, 2, FOLL_WRITE, owner)
            mm.munmap(a, 4 * PAGE_SIZE)
            assert pins[0].read(0, 8) == b"%08d" % i  # the pin keeps the page
            pinapi.unpin_user_pages(pins)
            counts["munmaps"] += 1

    workers = PINNERS + 4
    start_together = threading.Barrier(workers)

    def run(work: Callable[..., None], *args: int) -> None:
        try:
            start_together.wait()
            work(*args)
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(pinner, t)) for t in range(PINNERS)]
    threads += [threading.Thread(target=run, args=(w,)) for w in (migrator, reclaimer, forker, unmapper)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    assert errors == [], errors[:3]
    stat = lowlevel.vmstat.snapshot()
    assert stat["nr_foll_pin_acquired"] == stat["nr_foll_pin_released"] and lowlevel.pin_ledger() == []
    for _, page in mm.mapped_pages():
        f = page.folio
        assert f.refcount() == f.mapcount() + isinstance(f.mapping, AddressSpace), f
    for (addr, t), tag in last.items():
        assert mm.read(addr + 8 * t, 8) == tag
    lowlevel.sync_filesystem(fs)
    for (addr, t), tag in last.items():
        if addr >= shared:
            index = (addr - shared) // PAGE_SIZE
            assert fs.disk[(inode.ino, index)][8 * t : 8 * t + 8] == tag
    return {"threads": workers, "iterations": iterations, "seconds": round(elapsed, 2),
            "pages pinned": stat["nr_foll_pin_acquired"] - acquired, **counts}  # fmt: skip


def test_pins_and_mm_operations_from_threads_keep_counts_and_data_exact(mm: MM, preempt_often: None) -> None:
    figures = stress(mm, ITERATIONS)
    assert figures["migrated"] and figures["forks"] and figures["munmaps"] and figures["pages pinned"]
