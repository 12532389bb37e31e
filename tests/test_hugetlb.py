"""hugetlb mappings: what mmap() accepts, and where a hugetlb VMA may be split."""

from __future__ import annotations

import errno

import pytest

import pinapi
from helpers import expect, fill, state
from pinapi import (
    MAP_ANONYMOUS, MAP_FIXED, MAP_HUGE_1GB, MAP_HUGE_2MB, MAP_HUGETLB, MAP_PRIVATE, MAP_SHARED, MM,
    PAGE_SIZE, PMD_SIZE, PUD_SIZE, File, KernelError,
)  # fmt: skip
from pinapi.lowlevel import Ext4, Inode

FIXED = [
    ("4 KiB page in 2 MiB", MAP_HUGE_2MB, PMD_SIZE, 0, PAGE_SIZE, PAGE_SIZE),
    ("4 KiB page in 1 GiB", MAP_HUGE_1GB, PUD_SIZE, 0, PAGE_SIZE, PAGE_SIZE),
    ("2 MiB hugetlb in 1 GiB", MAP_HUGE_1GB, PUD_SIZE, MAP_HUGETLB | MAP_HUGE_2MB, PMD_SIZE, PMD_SIZE),
]


@pytest.mark.parametrize(("old", "size", "new", "length", "offset"), [f[1:] for f in FIXED],
                         ids=[f[0] for f in FIXED])  # fmt: skip
def test_map_fixed_inside_a_hugetlb_mapping_must_be_huge_aligned(mm: MM, old: int, size: int, new: int,
                                                                length: int, offset: int) -> None:  # fmt: skip
    """hugetlb_vm_op_split(): a hugetlb VMA splits only at multiples of its
    huge page size, so MAP_FIXED over part of it elsewhere is EINVAL, and
    nothing changes."""
    a = mm.mmap(size, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | old)
    touched = [0, 1, offset // PAGE_SIZE, size // PAGE_SIZE - 1]
    fill(mm, a, touched)
    before = state(mm)
    with pytest.raises(KernelError, match="huge page") as e:
        mm.mmap(length, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | new, addr=a + offset)
    assert e.value.errno == errno.EINVAL and state(mm) == before
    assert expect(mm, a, touched) == []
    mm.munmap(a, size)
    assert mm.vmas == []


@pytest.mark.parametrize("flag", [MAP_HUGE_2MB, MAP_HUGE_1GB])
def test_map_fixed_over_a_whole_hugetlb_mapping_replaces_it(mm: MM, flag: int) -> None:
    size = PMD_SIZE if flag == MAP_HUGE_2MB else PUD_SIZE
    a = mm.mmap(size, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | flag)
    fill(mm, a, [0, 1])
    assert mm.mmap(size, flags=MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, addr=a) == a
    assert mm.read(a, PAGE_SIZE) == bytes(PAGE_SIZE) and len(mm.vmas) == 1


@pytest.mark.parametrize("kind", ["tmpfs", "ext4"])
def test_map_hugetlb_needs_a_hugetlbfs_file(mm: MM, kind: str) -> None:
    """ksys_mmap_pgoff(): MAP_HUGETLB with a file not on hugetlbfs is EINVAL."""
    f = pinapi.shmem_file(PMD_SIZE) if kind == "tmpfs" else File(Inode(Ext4(), PMD_SIZE))
    for kind_flag in (MAP_SHARED, MAP_PRIVATE):
        with pytest.raises(KernelError, match="hugetlbfs") as e:
            mm.mmap(PMD_SIZE, flags=kind_flag | MAP_HUGETLB, file=f)
        assert e.value.errno == errno.EINVAL and mm.vmas == []
