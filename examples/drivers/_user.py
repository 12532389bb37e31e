"""What every call-site scenario shares: a process whose buffer a driver pins.

``user_buffer()`` maps and faults in the buffer, records each page's
``_refcount``, and on a clean exit asserts every count is back where it was:
whatever the driver took, pin or plain reference, it gave back. ``expect()``
and ``expect_stamped()`` assert what the process then reads; ``expect_error()``
that a driver's error path ran.
"""

from collections.abc import Callable, Generator, Iterable
from contextlib import contextmanager

from pinapi import (
    KernelError, MM, PAGE_SIZE, PROT_READ, Permission, PinnedPage, VaddrPin, Write, follow_page, put_page,
)  # fmt: skip


def stamp(tag: bytes, i: int) -> bytes:
    """What a device writes at the start of page *i* of a transfer."""
    return b"%s#%d" % (tag, i)


def dma_write(pages: Iterable[PinnedPage[Write]], tag: bytes, first: int = 0) -> None:
    """The device writes ``stamp(tag, first + i)`` into the i-th page."""
    for i, page in enumerate(pages, first):
        page.write(0, stamp(tag, i))


def dma_read(pages: Iterable[PinnedPage[Permission]], length: int = 8) -> bytes:
    """The device reads the start of each page, in order."""
    return b"".join(page.read(0, length) for page in pages)


def expect_error(errno: int, call: Callable[[], object]) -> None:
    """*call* fails with *errno*: the driver's error path ran."""
    try:
        call()
    except KernelError as e:
        assert e.errno == errno, f"failed with errno {e.errno}, expected {errno}: {e}"
    else:
        raise AssertionError(f"succeeded; expected errno {errno}")


class UserBuffer:
    """*nr_pages* of private anonymous memory of *mm* at *addr*, each page
    filled with *fill*."""

    def __init__(self, mm: MM, addr: int, nr_pages: int, fill: bytes) -> None:
        self.mm = mm
        self.addr = addr
        self.nr_pages = nr_pages
        self.fill = fill

    @property
    def owner(self) -> VaddrPin:
        """The pin owner for this process."""
        return VaddrPin(mm=self.mm)

    def page(self, i: int) -> int:
        """The address of page *i*."""
        return self.addr + i * PAGE_SIZE

    def refcounts(self) -> list[int]:
        """Each page's folio ``_refcount``, looked up with ``follow_page()``
        (whose own reference is counted and dropped the same way each time)."""
        vma = self.mm.find_vma(self.addr)
        assert vma is not None
        counts: list[int] = []
        for i in range(self.nr_pages):
            page = follow_page(vma, self.page(i))
            assert page is not None, f"page {i} is not mapped"
            counts.append(page.folio.refcount())
            put_page(page)
        return counts

    def expect(self, i: int, data: bytes, offset: int = 0) -> None:
        """The process reads *data* at *offset* of page *i*."""
        got = self.mm.read(self.page(i) + offset, len(data))
        assert got == data, f"{self.mm.name} page {i}+{offset}: read {got!r}, expected {data!r}"

    def expect_stamped(self, tag: bytes, pages: Iterable[int]) -> None:
        """Each of *pages* starts with what ``dma_write(..., tag)`` put there."""
        for i in pages:
            self.expect(i, stamp(tag, i))

    def expect_untouched(self, pages: Iterable[int]) -> None:
        """Each of *pages* still starts with the fill."""
        for i in pages:
            self.expect(i, self.fill)


@contextmanager
def user_buffer(
    name: str, nr_pages: int, fill: bytes = b"user data", writable: bool = True
) -> Generator[UserBuffer, None, None]:
    """A process *name* with a faulted-in buffer; on a clean exit every page's
    ``_refcount`` must be back at its baseline, then the process exits."""
    mm = MM(name)
    try:
        addr = mm.mmap(nr_pages * PAGE_SIZE)
        for i in range(nr_pages):
            mm.write(addr + i * PAGE_SIZE, fill)
        if not writable:
            mm.mprotect(addr, nr_pages * PAGE_SIZE, PROT_READ)
        buf = UserBuffer(mm, addr, nr_pages, fill)
        baseline = buf.refcounts()
        yield buf
        after = buf.refcounts()
        assert after == baseline, f"{name}: _refcount {after}, baseline {baseline}"
    finally:
        mm.exit()
