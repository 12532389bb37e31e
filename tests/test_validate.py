"""Validate before mutate, for the whole public boundary at once.

Every callable pinapi and pinapi.lowlevel export, and every public method of
their classes, is an entry point (``_mm.validate.entry_point``: it runs under
``kernel_lock`` and checks its arguments' kinds first), or is named in
``NOT_ENTRY_POINTS`` with the reason. Each entry point has a valid call in
``CALLS``; the tests replace one argument at a time with a hostile value of
every class (a float, a bool, None, a string, an object of another kind, an
iterable of the wrong things; -1 and 2**64 for an int) and check a clean
refusal, a TypeError or a KernelError naming the rule, with nothing at all
changed (``exact_state``)."""

from __future__ import annotations

import copy
import enum
import errno
import fnmatch
import inspect
import pickle
import threading
import typing
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import pinapi
from helpers import exact_state, state
from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MM,
    PAGE_SIZE, File, Folio, KernelBug, KernelError, KernelPage, Page, PinnedBvec, PinnedPage,
    PinnedPages, ScatterList, SgTable, VaddrPin, VMA, BvecSegment, Write,
)  # fmt: skip
from pinapi import lowlevel
from pinapi._handle import NoPublicConstructor
from pinapi._mm.validate import entry_point, entry_point_body, kernel_lock
from pinapi.lowlevel import F_UNLCK, Ext4, FileSystem, Inode, Zone

#: Public callables that are not entry points, each with the reason (shell patterns
#: over ``Class.method`` names).
NOT_ENTRY_POINTS: dict[str, str] = {
    "Folio.*": "the model's folio internals and folio_ref_count()-style atomic reads, in its "
               "hot paths; the contract gives Folio no constructor and no data access",
    "Page.__init__": "the page tables build Pages in the hot path; the contract gives Page no constructor",
    "VMA.*": "mmap() builds VMAs, and their methods are the fault path's",
    "MM.check_live": "a struct mm_struct helper the model calls under the lock",
    "MM.vmas_in": "a struct mm_struct helper the model calls under the lock",
    "PinRecord.__init__": "the pin path builds ledger records; pin_ledger() hands them out",
    "*.read_folio": "a filesystem operation (a_ops): the model calls it under the lock",
    "*.page_mkwrite": "a filesystem operation (a_ops): the model calls it under the lock",
    "*.dirty_folio": "a filesystem operation (a_ops): the model calls it under the lock",
    "*.writepage": "a filesystem operation (a_ops): the model calls it under the lock",
    "*.punch_blocks": "a filesystem operation (a_ops): the model calls it under the lock",
    "*.try_grab_pins": "a pin-tracking strategy's operation: the GUP engine calls it under the lock",
    "*.put_pins": "a pin-tracking strategy's operation: the GUP engine calls it under the lock",
    "*.maybe_dma_pinned": "a pin-tracking strategy's operation: the GUP engine calls it under the lock",
    "*.pin_refs": "a pin-tracking strategy's operation: the GUP engine calls it under the lock",
    "*.bytes_per_folio": "a pin-tracking strategy's operation: the GUP engine calls it under the lock",
    "page_anon_exclusive": "a read of one page's flag that the fault path calls per page, under the lock",
    "GupCost.*": "the kernel cost counters the GUP engine adds to in its hot paths, under the lock; "
                 "count_gup_cost() makes them",
}  # fmt: skip


def public_callables() -> dict[str, Callable[..., Any]]:
    """``Class.method`` or function name -> the callable, for everything
    pinapi and pinapi.lowlevel export. Classes contribute their public
    methods and ``__init__`` (defined in pinapi, inherited ones included);
    a handle's ``__init__`` is unreachable (NoPublicConstructor)."""
    found: dict[str, Callable[..., Any]] = {}
    for module in (pinapi, lowlevel):
        for name in module.__all__:
            obj = getattr(module, name)
            if not isinstance(obj, type):
                if callable(obj):
                    found[name] = obj
                continue
            if issubclass(obj, (BaseException, enum.Enum)):
                continue
            for klass in obj.__mro__:
                if not klass.__module__.startswith("pinapi"):
                    continue
                for attr, value in vars(klass).items():
                    if not (attr == "__init__" or not attr.startswith("_")) or not inspect.isfunction(value):
                        continue
                    if attr == "__init__" and isinstance(obj, NoPublicConstructor):
                        continue
                    found.setdefault(f"{name}.{attr}", getattr(obj, attr))
    return found


def excluded(name: str) -> str | None:
    return next((why for pattern, why in NOT_ENTRY_POINTS.items() if fnmatch.fnmatchcase(name, pattern)), None)


PUBLIC = public_callables()
ENTRY_POINTS = {name: fn for name, fn in PUBLIC.items() if not excluded(name)}


def test_every_public_callable_is_an_entry_point_or_says_why_not() -> None:
    assert [name for name, fn in ENTRY_POINTS.items() if entry_point_body(fn) is None] == []
    assert [name for name, fn in PUBLIC.items() if excluded(name) and entry_point_body(fn) is not None] == []
    assert [p for p in NOT_ENTRY_POINTS if not any(fnmatch.fnmatchcase(n, p) for n in PUBLIC)] == []


def test_an_entry_point_runs_under_the_lock_and_checks_first() -> None:
    held: list[bool] = []

    @entry_point
    def probe(n: int) -> None:
        held.append(kernel_lock._is_owned())  # type: ignore[attr-defined]

    probe(1)
    with pytest.raises(TypeError, match=r"probe\(\): n must be an int, got float 1.0: .*never floats"):
        probe(1.0)  # type: ignore[arg-type]
    assert held == [True]
    blocker = threading.Thread(target=probe, args=(2,))
    with kernel_lock:
        blocker.start()
        blocker.join(0.05)
        assert blocker.is_alive()  # waits for the lock
    blocker.join()
    assert held == [True, True]


# -- a valid call of every entry point ------------------------------------------------------


@dataclass
class Env:
    """A small world with one of every kind of object the boundary takes."""

    mm: MM
    anon: int  # 8 written pages, MADV_HUGEPAGE (not THP-sized), private
    vma: VMA
    shared: int  # 2 pages of an ext4 file, MAP_SHARED
    file: File
    inode: Inode
    fs: Ext4
    owner: VaddrPin
    pins: PinnedPages  # anon pages 0-1, FOLL_WRITE
    bvec: PinnedBvec  # anon page 2, FOLL_WRITE
    gup: list[Page]  # anon pages 3-4, plain references
    kpage: KernelPage
    sgt: SgTable[PinnedPage]  # entry 0 holds pins[0]
    folio: Folio  # anon page 6: mapped once, no other reference

    @property
    def objects(self) -> list[object]:
        """One object of every kind, for "an object of another kind"."""
        return [self.mm, self.vma, self.file, self.inode, self.fs, self.owner, self.pins, self.pins[0],
                self.bvec, self.bvec[0], self.gup[0], self.kpage, self.sgt, list(pinapi.for_each_sg(self.sgt))[0],
                self.folio, lowlevel.RefcountBias(), Zone.NORMAL]  # fmt: skip

    def release(self) -> None:
        for pin in self.pins:
            if pin.pinned:
                pinapi.unpin_user_page(pin)
        if self.bvec.pinned:
            pinapi.put_user_bvec(self.bvec, False)


@pytest.fixture
def env(mm: MM, owner: VaddrPin) -> Iterator[Env]:
    anon = mm.mmap(8 * PAGE_SIZE)
    mm.madvise(anon, 8 * PAGE_SIZE, MADV_HUGEPAGE)
    mm.write(anon, bytes(range(256)) * (8 * PAGE_SIZE // 256))
    fs = Ext4()
    inode = Inode(fs, 2 * PAGE_SIZE)
    f = File(inode, "data")
    shared = mm.mmap(2 * PAGE_SIZE, flags=MAP_SHARED, file=f)
    mm.write(shared, b"file")
    vma = mm.find_vma(anon)
    assert vma is not None
    pins = pinapi.vaddr_pin_pages(anon, 2, FOLL_WRITE, owner)
    sgt: SgTable[PinnedPage[Write]] = pinapi.sg_alloc_table(2, PinnedPage[Write])
    pinapi.sg_set_page(list(pinapi.for_each_sg(sgt))[0], pins[0], PAGE_SIZE, 0)
    page6 = mm.lookup(anon + 6 * PAGE_SIZE)
    assert page6 is not None
    e = Env(mm, anon, vma, shared, f, inode, fs, owner, pins,
            pinapi.get_user_bvec(anon + 2 * PAGE_SIZE, PAGE_SIZE, FOLL_WRITE, owner),
            pinapi.get_user_pages_remote(mm, anon + 3 * PAGE_SIZE, 2, 0), pinapi.alloc_page(), sgt, page6.folio)  # fmt: skip
    yield e
    e.release()


#: Entry point -> a valid call of it in an Env: (the callable, its arguments by name).
CALLS: dict[str, Callable[[Env], tuple[Callable[..., Any], dict[str, Any]]]] = {
    "alloc_page": lambda e: (pinapi.alloc_page, {}),
    "current_mm": lambda e: (pinapi.current_mm, {}),
    "folio_maybe_dma_pinned": lambda e: (pinapi.folio_maybe_dma_pinned, {"folio": e.folio}),
    "follow_page": lambda e: (pinapi.follow_page, {"vma": e.vma, "address": e.anon, "foll_flags": 0}),
    "for_each_sg": lambda e: (pinapi.for_each_sg, {"sgt": e.sgt}),
    "get_page": lambda e: (pinapi.get_page, {"page": e.gup[0]}),
    "get_user_bvec": lambda e: (pinapi.get_user_bvec, {"addr": e.anon + 5 * PAGE_SIZE, "length": 100,
                                                      "gup_flags": FOLL_WRITE, "vaddr_pin": e.owner}),
    "get_user_pages": lambda e: (pinapi.get_user_pages, {"start": e.anon, "nr_pages": 2, "gup_flags": 0}),
    "get_user_pages_remote": lambda e: (pinapi.get_user_pages_remote,
                                        {"mm": e.mm, "start": e.anon, "nr_pages": 2, "gup_flags": 0}),
    "kthread_use_mm": lambda e: (pinapi.kthread_use_mm, {"mm": e.mm}),
    "memcpy_from_page": lambda e: (pinapi.memcpy_from_page, {"page": e.pins[0], "offset": 8, "length": 8}),
    "memcpy_to_page": lambda e: (pinapi.memcpy_to_page, {"page": e.kpage, "offset": 8, "data": b"kernel"}),
    "page_maybe_dma_pinned": lambda e: (pinapi.page_maybe_dma_pinned, {"page": e.gup[0]}),
    "put_page": lambda e: (pinapi.put_page, {"page": e.gup[0]}),
    "put_user_bvec": lambda e: (pinapi.put_user_bvec, {"bvec": e.bvec, "make_dirty": True}),
    "release_pages": lambda e: (pinapi.release_pages, {"pages": e.gup}),
    "set_page_dirty": lambda e: (pinapi.set_page_dirty, {"page": e.gup[0]}),
    "set_page_dirty_lock": lambda e: (pinapi.set_page_dirty_lock, {"page": e.gup[0]}),
    "sg_alloc_table": lambda e: (pinapi.sg_alloc_table, {"nents": 4, "kind": Page}),
    "sg_alloc_table_from_bvec": lambda e: (pinapi.sg_alloc_table_from_bvec, {"bvec": e.bvec}),
    "sg_alloc_table_from_pages": lambda e: (pinapi.sg_alloc_table_from_pages,
                                            {"pages": list(e.pins), "offset": 0, "size": 2 * PAGE_SIZE}),
    "sg_free_table": lambda e: (pinapi.sg_free_table, {"sgt": e.sgt}),
    "sg_page": lambda e: (pinapi.sg_page, {"sg": list(pinapi.for_each_sg(e.sgt))[0]}),
    "sg_set_page": lambda e: (pinapi.sg_set_page, {"sg": list(pinapi.for_each_sg(e.sgt))[1], "page": e.pins[1],
                                                   "length": PAGE_SIZE, "offset": 0}),
    "shmem_file": lambda e: (pinapi.shmem_file, {"size": PAGE_SIZE, "name": "memfd"}),
    "unpin_user_page": lambda e: (pinapi.unpin_user_page, {"page": e.pins[0]}),
    "unpin_user_pages": lambda e: (pinapi.unpin_user_pages, {"pages": e.pins}),
    "unpin_user_pages_dirty_lock": lambda e: (pinapi.unpin_user_pages_dirty_lock,
                                              {"pages": list(e.pins), "make_dirty": True}),
    "vaddr_pin_pages": lambda e: (pinapi.vaddr_pin_pages, {"addr": e.anon + 5 * PAGE_SIZE, "nr_pages": 1,
                                                          "gup_flags": FOLL_LONGTERM, "vaddr_pin": e.owner}),
    "vaddr_unpin_pages_dirty_lock": lambda e: (pinapi.vaddr_unpin_pages_dirty_lock,
                                               {"pages": e.pins, "vaddr_pin": e.owner, "make_dirty": False}),
    "pin_user_pages_fast": lambda e: (pinapi.pin_user_pages_fast, {"start": e.anon + 5 * PAGE_SIZE, "nr_pages": 1,
                                                                  "gup_flags": FOLL_WRITE}),
    "get_user_pages_fast": lambda e: (pinapi.get_user_pages_fast, {"start": e.anon, "nr_pages": 2, "gup_flags": 0}),
    "get_user_pages_fast_only": lambda e: (pinapi.get_user_pages_fast_only,
                                           {"start": e.anon, "nr_pages": 2, "gup_flags": 0}),
    "PinnedPage.for_write": lambda e: (e.pins[0].for_write, {}),
    "PinnedPages.for_write": lambda e: (e.pins.for_write, {}),
    "BvecSegment.for_write": lambda e: (e.bvec[0].for_write, {}),
    "PinnedBvec.for_write": lambda e: (e.bvec.for_write, {}),
    "MM.mremap": lambda e: (e.mm.mremap, {"old_addr": e.anon + 7 * PAGE_SIZE, "old_size": PAGE_SIZE,
                                          "new_size": PAGE_SIZE}),
    "BvecSegment.read": lambda e: (e.bvec[0].read, {"offset": 4, "length": 8}),
    "BvecSegment.write": lambda e: (e.bvec[0].write, {"offset": 4, "data": b"device"}),
    "File.__init__": lambda e: (File, {"inode": e.inode, "name": "again"}),
    "File.close": lambda e: (e.file.close, {}),
    "File.setlease": lambda e: (e.file.setlease, {"arg": F_UNLCK}),
    "MM.__init__": lambda e: (MM, {"name": "other"}),
    "MM.exit": lambda e: (e.mm.exit, {}),
    "MM.find_vma": lambda e: (e.mm.find_vma, {"addr": e.anon}),
    "MM.fork": lambda e: (e.mm.fork, {"name": "child"}),
    "MM.lookup": lambda e: (e.mm.lookup, {"addr": e.anon}),
    "MM.madvise": lambda e: (e.mm.madvise, {"addr": e.anon, "length": PAGE_SIZE, "advice": MADV_HUGEPAGE}),
    "MM.mapped_pages": lambda e: (e.mm.mapped_pages, {}),
    "MM.mmap": lambda e: (e.mm.mmap, {"length": 2 * PAGE_SIZE, "prot": 3, "flags": MAP_PRIVATE | MAP_FIXED,
                                      "file": e.file, "offset": 0, "addr": e.anon, "vm_flags": 0}),
    "MM.mprotect": lambda e: (e.mm.mprotect, {"addr": e.anon, "length": PAGE_SIZE, "prot": 1}),
    "MM.munmap": lambda e: (e.mm.munmap, {"addr": e.anon, "length": 2 * PAGE_SIZE}),
    "MM.read": lambda e: (e.mm.read, {"addr": e.anon, "length": 16}),
    "MM.write": lambda e: (e.mm.write, {"addr": e.anon, "data": b"process"}),
    "PinnedPage.read": lambda e: (e.pins[0].read, {"offset": 4, "length": 8}),
    "PinnedPage.write": lambda e: (e.pins[0].write, {"offset": 4, "data": b"device"}),
    "VaddrPin.__init__": lambda e: (VaddrPin, {"mm": e.mm, "file": e.file}),
    "ExactCounter.__init__": lambda e: (lowlevel.ExactCounter, {}),
    "LookupTree.__init__": lambda e: (lowlevel.LookupTree, {}),
    "Ext4.__init__": lambda e: (Ext4, {"bug_on_no_buffers": False}),
    "FileSystem.__init__": lambda e: (FileSystem, {}),
    "Hugetlbfs.__init__": lambda e: (lowlevel.Hugetlbfs, {"order": 9}),
    "Inode.__init__": lambda e: (Inode, {"fs": e.fs, "size": PAGE_SIZE, "nlink": 1}),
    "Inode.iput": lambda e: (e.inode.iput, {}),
    "Inode.punch_hole": lambda e: (e.inode.punch_hole, {"offset": 0, "length": PAGE_SIZE}),
    "Inode.read": lambda e: (e.inode.read, {"pos": 0, "length": 4}),
    "Inode.truncate": lambda e: (e.inode.truncate, {"size": PAGE_SIZE}),
    "Inode.write": lambda e: (e.inode.write, {"pos": 0, "data": b"write(2)"}),
    "VmStat.__init__": lambda e: (lowlevel.VmStat, {}),
    "VmStat.snapshot": lambda e: (lowlevel.vmstat.snapshot, {}),
    "alloc_folio": lambda e: (lowlevel.alloc_folio, {"order": 0, "zone": Zone.MOVABLE}),
    "alloc_zone": lambda e: (lowlevel.alloc_zone, {"zone": Zone.MOVABLE}),
    "count_gup_cost": lambda e: (lowlevel.count_gup_cost, {}),
    "debug_pins_enabled": lambda e: (lowlevel.debug_pins_enabled, {}),
    "migrate_folio": lambda e: (lowlevel.migrate_folio, {"folio": e.folio, "zone": Zone.NORMAL}),
    "pin_ledger": lambda e: (lowlevel.pin_ledger, {}),
    "reclaim": lambda e: (lowlevel.reclaim, {"inode": e.inode}),
    "set_debug_pins": lambda e: (lowlevel.set_debug_pins, {"enabled": True}),
    "sync_filesystem": lambda e: (lowlevel.sync_filesystem, {"fs": e.fs}),
    "use_tracking": lambda e: (lowlevel.use_tracking, {"strategy": lowlevel.ExactCounter()}),
    "writeback": lambda e: (lowlevel.writeback, {"inode": e.inode}),
}  # fmt: skip

#: (entry point, int parameter) -> why an out-of-range value may be accepted there.
ANY_INT: dict[tuple[str, str], str] = {
    ("MM.find_vma", "addr"): "a lookup: no VMA is there",
    ("MM.lookup", "addr"): "a lookup: nothing is mapped there",
    ("Inode.read", "pos"): "read(2) at or past the end of the file reads nothing",
    ("Inode.read", "length"): "read(2) stops at the end of the file",
    ("MM.mremap", "new_addr"): "read only with MREMAP_FIXED, as mremap(2) reads it",
}


def body_name(fn: Callable[..., Any]) -> str:
    body = entry_point_body(fn)
    assert body is not None
    return body.__qualname__


def test_every_entry_point_has_a_valid_call() -> None:
    bodies = {body_name(fn) for fn in ENTRY_POINTS.values()}
    named = {body_name(PUBLIC[n]) if n in PUBLIC else n for n in CALLS}
    assert bodies - named == set() and named - bodies == set()


def call(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # get_user_pages()
        return fn(**kwargs)


def release(result: object) -> None:
    """Give back what a valid call took, so that no pin outlives the test."""
    if isinstance(result, PinnedPages):
        pinapi.unpin_user_pages(result)
    elif isinstance(result, PinnedBvec):
        pinapi.put_user_bvec(result, False)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_valid_call_is_accepted(env: Env, name: str) -> None:
    fn, kwargs = CALLS[name](env)
    try:
        release(call(fn, kwargs))
    except KernelError as e:  # a rule of the body: the arguments' kinds were accepted
        assert name == "set_debug_pins" and e.errno == errno.EBUSY  # pins are live in env


def annotations(fn: Callable[..., Any]) -> dict[str, Any]:
    body = entry_point_body(fn)
    assert body is not None
    return typing.get_type_hints(body)


def _iterable(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    return origin is not None and origin.__name__ in ("Iterable", "Sequence")


def hostile_values(hint: Any, env: Env) -> list[object]:
    """A value of every class the annotation *hint* does not admit."""
    scalars: list[object] = [4096.0, True, None, "4096", b"\x00\x10"]
    if hint is int:
        return scalars
    if hint is bool:
        return [1, 0.0, None, "yes"]
    if hint is str:
        return [None, 1, b"name"]
    if hint is bytes:
        return ["text", [1, 2], bytearray(b"ab"), None, 7]
    args = typing.get_args(hint)
    if isinstance(hint, typing.TypeVar):
        args = hint.__constraints__
    origin = typing.get_origin(hint)
    if origin in (typing.Union, type(int | None)) or isinstance(hint, typing.TypeVar):
        members = [typing.get_origin(a) or a for a in args if not _iterable(a)]
        iterables = [a for a in args if _iterable(a)]
        values = [v for m in members for v in hostile_values(m, env) if not isinstance(v, tuple(members))]
        for it in iterables:
            values += [v for v in hostile_values(it, env) if v is not None and not isinstance(v, tuple(members))]
        return list({id(v): v for v in values}.values())
    if _iterable(hint):
        (inner,) = args
        union = typing.get_origin(inner) in (typing.Union, type(int | None))
        kinds = tuple(typing.get_origin(k) or k for k in (
            typing.get_args(inner) if union else getattr(inner, "__constraints__", ()) or (inner,)))
        wrong = [o for o in env.objects if not isinstance(o, kinds)]
        return [None, 1, "ab", [None], [object()], *[[o] for o in wrong[:4]]]
    kind = origin or hint
    assert isinstance(kind, type), hint
    return [*scalars, object(), *[o for o in env.objects if not isinstance(o, kind)]]


def hostile_cases() -> list[tuple[str, str]]:
    cases = []
    for name in sorted(CALLS):
        fn = PUBLIC.get(name) or ENTRY_POINTS[name]
        cases += [(name, param) for param in annotations(fn) if param != "return"]
    return cases


def snapshot(env: Env) -> dict[str, Any]:
    inode = env.inode
    return {**exact_state(env.mm), "file": (inode.size, inode.open_files, sorted(inode.mapping.pages)),
            "debug": lowlevel.debug_pins_enabled(), "pins": [p.pinned for p in env.pins]}  # fmt: skip


@pytest.mark.parametrize(("name", "param"), hostile_cases())
def test_a_wrong_kind_is_refused_before_anything_changes(env: Env, name: str, param: str) -> None:
    fn, kwargs = CALLS[name](env)
    hint = annotations(PUBLIC[name])[param]
    for value in hostile_values(hint, env):
        before = snapshot(env)
        with pytest.raises(TypeError, match=rf"\(\): {param}(\[\d+\])? must be .*, got ") as e:
            call(fn, {**kwargs, param: value})
        assert snapshot(env) == before, (value, str(e.value))


def int_cases() -> list[tuple[str, str]]:
    return [(n, p) for n, p in hostile_cases() if annotations(PUBLIC[n])[p] in (int, int | None)]


@pytest.mark.parametrize(("name", "param"), int_cases())
def test_an_int_out_of_range_is_a_kernel_error_with_nothing_changed(env: Env, name: str, param: str) -> None:
    fn, kwargs = CALLS[name](env)
    for value in (-1, 2**64, -(2**64)):
        before = snapshot(env)
        try:
            call(fn, {**kwargs, param: value})
        except KernelError:
            assert snapshot(env) == before, value
        else:
            assert (name, param) in ANY_INT, f"{value} accepted"


# -- the findings, one by one ---------------------------------------------------------------


def test_a_refused_map_fixed_leaves_the_old_mapping(mm: MM) -> None:
    """Finding 5: an offset of the wrong type used to unmap and free the old
    range before the refusal."""
    a = mm.mmap(4 * PAGE_SIZE)
    mm.write(a, b"keep me")
    f = pinapi.shmem_file(4 * PAGE_SIZE)
    closed = pinapi.shmem_file(4 * PAGE_SIZE)
    closed.close()
    before = exact_state(mm)
    for kwargs, error in [
        ({"offset": 0.0, "file": f, "flags": MAP_SHARED | MAP_FIXED}, TypeError),
        ({"addr": a + 1, "flags": MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED}, KernelError),
        ({"file": closed, "flags": MAP_SHARED | MAP_FIXED}, KernelError),
        ({"file": f, "offset": 1 << 63, "flags": MAP_SHARED | MAP_FIXED}, KernelError),
        ({"flags": MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED | 1 << 40}, KernelError),
    ]:
        with pytest.raises(error):
            mm.mmap(4 * PAGE_SIZE, **{"addr": a, **kwargs})
        assert exact_state(mm) == before
    assert mm.read(a, 7) == b"keep me"


def test_a_closed_file_cannot_be_mapped(mm: MM) -> None:
    f = pinapi.shmem_file(PAGE_SIZE, "gone")
    f.close()  # unlinked and unmapped: evicted
    with pytest.raises(KernelError, match="is closed") as e:
        mm.mmap(PAGE_SIZE, flags=MAP_SHARED, file=f)
    assert e.value.errno == errno.EBADF and mm.vmas == []


@pytest.mark.parametrize("kind", [PinnedPages, PinnedPage, PinnedBvec, BvecSegment, KernelPage, SgTable,
                                  ScatterList, MM, VMA, File, Inode, Folio, lowlevel.PinRecord])  # fmt: skip
@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy, pickle.dumps])
def test_handles_and_kernel_objects_refuse_to_be_copied(env: Env, kind: type, how: Callable[[object], object]) -> None:
    """Finding 6: a copy of a pin batch released the same pins a second time."""
    (obj,) = [o for o in [*env.objects, env.pins._record] if type(o) is kind]
    before = snapshot(env)
    with pytest.raises(TypeError, match=f"{kind.__name__} cannot be copied or pickled: .* twice"):
        how(obj)
    assert snapshot(env) == before


def test_unpin_for_no_owner_is_refused(env: Env) -> None:
    """Finding 8: vaddr_unpin_pages_dirty_lock(pins, None, ...) skipped the owner check."""
    with pytest.raises(TypeError, match=r"vaddr_pin must be a VaddrPin, got None"):
        pinapi.vaddr_unpin_pages_dirty_lock(env.pins, None, True)  # type: ignore[arg-type]
    with pytest.raises(KernelError, match="belong to"):
        pinapi.vaddr_unpin_pages_dirty_lock(env.pins, VaddrPin(mm=MM("other")), True)
    assert env.pins.nr_pinned == 2


def test_release_pages_checks_every_page_before_dropping_any(env: Env) -> None:
    """Finding 8: release_pages([p, p]) dropped one reference, then refused."""
    before = exact_state(env.mm)
    with pytest.raises(KernelBug, match="freeing a mapped or pinned folio"):
        pinapi.release_pages([env.gup[0], env.gup[0]])  # one reference taken, two dropped
    assert exact_state(env.mm) == before


def test_a_write_of_data_that_is_not_bytes_writes_nothing(mm: MM) -> None:
    """Finding 8: a list of ints wrote some pages, then failed."""
    a = mm.mmap(3 * PAGE_SIZE)
    before = exact_state(mm)
    for data in ([1] * (3 * PAGE_SIZE), "x" * PAGE_SIZE, memoryview(bytes(PAGE_SIZE))):
        with pytest.raises(TypeError, match="data must be bytes"):
            mm.write(a, data)  # type: ignore[arg-type]
    assert exact_state(mm) == before


def test_madvise_on_a_hole_and_munmap_below_zero_are_refused(mm: MM) -> None:
    """Finding 8: both were accepted."""
    a = mm.mmap(2 * PAGE_SIZE)
    mm.munmap(a + PAGE_SIZE, PAGE_SIZE)
    before = exact_state(mm)
    with pytest.raises(KernelError, match="not fully mapped") as e:
        mm.madvise(a, 2 * PAGE_SIZE, MADV_HUGEPAGE)
    assert e.value.errno == errno.ENOMEM
    with pytest.raises(KernelError) as e:
        mm.munmap(-PAGE_SIZE, 2 * PAGE_SIZE)
    assert e.value.errno == errno.EINVAL
    assert exact_state(mm) == before


def test_a_huge_sg_table_is_enomem() -> None:
    """Finding 8: sg_alloc_table(10**9) built a billion entries."""
    with pytest.raises(KernelError) as e:
        pinapi.sg_alloc_table(10**9, Page)
    assert e.value.errno == errno.ENOMEM


def test_out_of_range_data_access_is_einval(env: Env) -> None:
    """Finding 8: these raised KernelBug, an AssertionError."""
    for access in (lambda: env.pins[0].read(PAGE_SIZE - 1, 2), lambda: env.pins[0].write(-1, b"x"),
                   lambda: env.bvec[0].read(0, PAGE_SIZE + 1), lambda: env.bvec[0].write(PAGE_SIZE, b"x"),
                   lambda: pinapi.memcpy_from_page(env.kpage, 4000, 100),
                   lambda: pinapi.memcpy_to_page(env.kpage, PAGE_SIZE, b"x")):  # fmt: skip
        before = exact_state(env.mm)
        with pytest.raises(KernelError, match="outside") as e:
            access()
        assert e.value.errno == errno.EINVAL and exact_state(env.mm) == before


def test_a_float_length_no_longer_poisons_the_mm(mm: MM) -> None:
    """Finding 8: mmap(4096.0) made every later mmap, munmap and exit fail."""
    with pytest.raises(TypeError, match=r"MM.mmap\(\): length must be an int, got float 4096.0"):
        mm.mmap(4096.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"VaddrPin.__init__\(\): mm must be an MM or None, got int 1"):
        VaddrPin(mm=1)  # type: ignore[call-overload]
    a = mm.mmap(PAGE_SIZE)
    mm.munmap(a, PAGE_SIZE)


# -- what a refused call may leave (docs/design.md) ------------------------------------------


def test_a_refused_pin_may_leave_pages_faulted_in_and_nothing_else(mm: MM, owner: VaddrPin) -> None:
    """Finding 9: the engine faults in the usable part of the range before it
    finds the hole; no pin, reference, ledger record or vmstat imbalance stays."""
    a = mm.mmap(4 * PAGE_SIZE)
    mm.munmap(a + 3 * PAGE_SIZE, PAGE_SIZE)
    before, exact = state(mm), exact_state(mm)
    for attempt in (lambda: pinapi.vaddr_pin_pages(a, 4, FOLL_WRITE, owner),
                    lambda: pinapi.get_user_bvec(a, 4 * PAGE_SIZE, FOLL_WRITE, owner)):  # fmt: skip
        with pytest.raises(KernelError) as e:
            attempt()
        assert e.value.errno == errno.EFAULT
    assert state(mm) == before
    assert exact_state(mm) != exact and len(list(mm.mapped_pages())) == 3  # faulted in: allowed


def test_a_longterm_ebusy_may_leave_other_pages_migrated(mm: MM, owner: VaddrPin) -> None:
    """Finding 9: FOLL_LONGTERM migrates what it can out of ZONE_MOVABLE,
    then refuses at the folio a plain reference holds there."""
    a = mm.mmap(2 * PAGE_SIZE)
    with lowlevel.alloc_zone(Zone.MOVABLE):
        mm.write(a, b"A" * PAGE_SIZE + b"B" * PAGE_SIZE)
    (held,) = pinapi.get_user_pages_remote(mm, a + PAGE_SIZE, 1, 0)
    before = state(mm)
    migrated = lowlevel.vmstat.pgmigrate_success
    with pytest.raises(KernelError, match="cannot migrate") as e:
        pinapi.vaddr_pin_pages(a, 2, FOLL_LONGTERM | FOLL_WRITE, owner)
    assert e.value.errno == errno.EBUSY
    assert state(mm) == before and mm.read(a, 1) == b"A"
    assert lowlevel.vmstat.pgmigrate_success == migrated + 1
    pinapi.put_page(held)
