"""tools/testing/selftests/mm/gup_longterm.c as a test matrix, written from
what the selftest does (Linux 6.12): which long-term pins of a file mapping
the kernel takes, by GUP and GUP-fast.

10 tests (R/W and R/O long-term pins by GUP and GUP-fast, and an io_uring
fixed buffer, which is a FOLL_WRITE | FOLL_LONGTERM pin, each in a
MAP_SHARED and a MAP_PRIVATE mapping) x 5 files (memfd and tmpfile on
tmpfs, a local tmpfile on ext4, memfd hugetlb 2 MiB and 1 GiB): 50 cases,
all expressible. The selftest's rule: a pin in a private mapping, or a R/O
pin, always works; a R/W pin in a shared mapping only where the filesystem
needs no dirty tracking (tmpfs, hugetlbfs); ext4 refuses it with EFAULT.
The file is written with position-dependent data through the mapping (the
selftest's memset(mem, 0, size)), and a pin that works must read it back;
a R/W one must reach the process when written. A 1 GiB file is written
and checked on a sample of pages.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest

from helpers import pattern, sample
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MAP_PRIVATE, MAP_SHARED, MM, PAGE_SIZE, PROT_READ, File, KernelError,
    PinnedPages, VaddrPin, kthread_use_mm, pin_user_pages_fast, vaddr_pin_pages,
)  # fmt: skip
from pinapi.lowlevel import Ext4, FileSystem, Hugetlbfs, Inode, Shmem

FILES: dict[str, Callable[[], FileSystem]] = {
    "memfd": Shmem,
    "tmpfile": Shmem,
    "local tmpfile": Ext4,
    "memfd hugetlb (2048 kB)": lambda: Hugetlbfs(9),
    "memfd hugetlb (1048576 kB)": lambda: Hugetlbfs(18),
}

#: gup_longterm.c's test types: (R/W, GUP-fast).
TYPES = {"R/W longterm GUP pin": (True, False), "R/W longterm GUP-fast pin": (True, True),
         "R/O longterm GUP pin": (False, False), "R/O longterm GUP-fast pin": (False, True),
         "io_uring fixed buffer": (True, False)}  # fmt: skip


def pin(mm: MM, addr: int, nr: int, flags: int, fast: bool) -> PinnedPages:
    with kthread_use_mm(mm):
        return pin_user_pages_fast(addr, nr, flags) if fast else vaddr_pin_pages(addr, nr, flags, VaddrPin(mm=mm))


@pytest.mark.parametrize("backing", FILES)
@pytest.mark.parametrize("shared", [True, False], ids=["MAP_SHARED", "MAP_PRIVATE"])
@pytest.mark.parametrize("test", TYPES)
def test_gup_longterm(mm: MM, test: str, shared: bool, backing: str) -> None:
    rw, fast = TYPES[test]
    fs = FILES[backing]()
    size = PAGE_SIZE << fs.folio_order
    f = File(Inode(fs, size, nlink=0), backing)  # memfd_create()/tmpfile() + ftruncate() + fallocate()
    mem = mm.mmap(size, flags=MAP_SHARED if shared else MAP_PRIVATE, file=f)
    pages = sample(size)
    for i in pages:
        mm.write(mem + i * PAGE_SIZE, pattern(i))
    if not rw:
        mm.mprotect(mem, size, PROT_READ)
    should_work = not shared or not rw or fs.name in ("tmpfs", "hugetlbfs")
    flags = FOLL_LONGTERM | (FOLL_WRITE if rw else 0)
    if not should_work:
        with pytest.raises(KernelError) as e:
            pin(mm, mem, size // PAGE_SIZE, flags, fast)
        assert e.value.errno == errno.EFAULT
        return
    with pin(mm, mem, size // PAGE_SIZE, flags, fast) as pins:
        assert len(pins) == size // PAGE_SIZE and [pins[i].read() for i in pages] == [pattern(i) for i in pages]
        if rw:
            pins[pages[-1]].write(0, pattern(pages[-1], tag=1))
            assert mm.read(mem + pages[-1] * PAGE_SIZE, PAGE_SIZE) == pattern(pages[-1], tag=1)
    f.close()


def test_the_matrix_is_gup_longterms() -> None:
    """gup_longterm.c: ARRAY_SIZE(test_cases) x (3 + nr_hugetlbsizes)."""
    assert len(TYPES) * 2 * len(FILES) == 10 * (3 + 2)
