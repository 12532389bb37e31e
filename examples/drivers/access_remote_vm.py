"""ptrace peek/poke and /proc/PID/mem: the kernel CPU reads or writes another
process's memory a page at a time.

mm/memory.c: __access_remote_vm() takes each page with
``get_user_pages_remote(tsk, mm, addr, 1, gup_flags, &page, &vma, NULL)``,
kmaps it, copy_to_user_page() (``set_page_dirty_lock()`` after) or
copy_from_user_page(), and put_page()s it.

By the rst's text this is case 5 (a plain reference written through is the
bug pins exist for), so here a pin on the target mm, FOLL_FORCE as ptrace
has, dirtied on write. The kernel still takes a plain reference,
short-lived and ptrace-only: in 6.12.117 __access_remote_vm() gets each page
with get_user_page_vma_remote(), set_page_dirty_lock()s it after a write and
drops it with unmap_and_put_page().

Short result: the copy stops at the first page it cannot get and returns the
length done (the VM_IO ``vm_ops->access`` fallback is not modelled).
"""

from typing import Final

from pinapi import (
    MM, PAGE_SIZE, FOLL_FORCE, FOLL_WRITE, KernelError, VaddrPin, memcpy_from_page, memcpy_to_page,
    unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import user_buffer

SUBSYSTEM: Final = "mm"
KERNEL_FILES: Final = ("mm/memory.c",)
FUNCTIONS: Final = ("__access_remote_vm", "access_process_vm")
CASE: Final = 5
API: Final = "pin"
CONTAINER: Final = "single page"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = "case 5 by the rst's text, yet the kernel has not converted it (plain references in 6.12.117)"
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"mm/memory.c": ("__access_remote_vm", "access_process_vm")}


def access_remote_vm(mm: MM, addr: int, buf: bytearray, write: bool) -> int:
    """Copy between *buf* and *mm* at *addr*; returns the bytes done."""
    done = 0
    while done < len(buf):
        offset = (addr + done) % PAGE_SIZE
        flags = FOLL_FORCE | FOLL_WRITE if write else FOLL_FORCE
        try:
            (page,) = vaddr_pin_pages(addr + done - offset, 1, flags, VaddrPin(mm=mm))
        except KernelError:
            break
        n = min(len(buf) - done, PAGE_SIZE - offset)
        if write:
            memcpy_to_page(page.for_write(), offset, bytes(buf[done : done + n]))
        else:
            buf[done : done + n] = memcpy_from_page(page, offset, n)
        unpin_user_pages_dirty_lock([page], make_dirty=write)
        done += n
    return done


def scenario() -> None:
    with user_buffer("tracee", 2, fill=b"text", writable=False) as tracee:
        poke = bytearray(b"\xcc" * 8)  # int3, over a page boundary
        assert access_remote_vm(tracee.mm, tracee.page(1) - 4, poke, write=True) == 8
        tracee.expect(0, b"\xcc" * 4, offset=PAGE_SIZE - 4)
        tracee.expect(1, b"\xcc" * 4)
        peek = bytearray(16)
        assert access_remote_vm(tracee.mm, tracee.page(2) - 8, peek, write=False) == 8
        assert peek[:8] == bytes(tracee.mm.read(tracee.page(2) - 8, 8))
