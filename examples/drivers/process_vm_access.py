"""process_vm_readv()/writev(): the kernel CPU copies between the caller's
iovecs and another process's memory.

mm/process_vm_access.c: process_vm_rw_single_vec() takes up to
PVM_MAX_PP_ARRAY remote pages at a time with ``get_user_pages_remote(task,
mm, pa, n, vm_write ? FOLL_WRITE : 0, process_pages, NULL, &locked)``;
process_vm_rw_pages() copy_page_to_iter()s / copy_page_from_iter()s; then
``set_page_dirty_lock()`` if writing and ``put_page()`` each.

Case 5: the CPU reads and writes the remote pages' data: a pin (in 6.12.117
process_vm_rw_single_vec() calls pin_user_pages_remote() and
unpin_user_pages_dirty_lock(pages, n, vm_write)). The remote range is a run
of bio_vecs, so here ``get_user_bvec()`` on the remote mm and
``put_user_bvec()`` dirtied on a write. The caller's own iovecs are copied through its page tables
(copy_to_user / copy_from_user), read and written here as the caller's
memory.

Short result: accepted: it copies what it got and loops; each batch here is
all or nothing, and a batch that fails ends the call with the bytes done.
"""

from typing import Final

from pinapi import MM, FOLL_WRITE, PAGE_SIZE, KernelError, VaddrPin, get_user_bvec, put_user_bvec

from ._user import user_buffer

SUBSYSTEM: Final = "mm"
KERNEL_FILES: Final = ("mm/process_vm_access.c",)
FUNCTIONS: Final = ("process_vm_rw_single_vec", "process_vm_rw_pages")
CASE: Final = 5
API: Final = "bvec"
CONTAINER: Final = "bvec"
RELEASE: Final = "put_user_bvec"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"mm/process_vm_access.c": ("process_vm_rw_single_vec", "process_vm_rw_pages")}

PVM_MAX_PP_ARRAY: Final = 2


def process_vm_rw_single_vec(
    local: MM, lvec: int, remote: MM, rvec: int, length: int, vm_write: bool
) -> int:
    """Copy *length* bytes between local *lvec* and remote *rvec*; returns bytes done."""
    done = 0
    while done < length:
        pa = rvec + done
        n = min(length - done, PVM_MAX_PP_ARRAY * PAGE_SIZE - pa % PAGE_SIZE)
        try:
            bvec = get_user_bvec(pa, n, FOLL_WRITE if vm_write else 0, VaddrPin(mm=remote))
        except KernelError:
            break
        for seg in bvec:
            if vm_write:
                seg.for_write().write(0, local.read(lvec + done, seg.length))
            else:
                local.write(lvec + done, seg.read())
            done += seg.length
        put_user_bvec(bvec, make_dirty=vm_write)
    return done


def scenario() -> None:
    with user_buffer("debugger", 3, fill=b"debugger") as caller, user_buffer("debuggee", 3) as target:
        message = b"poked " * 1500  # 9000 bytes: two batches
        caller.mm.write(caller.addr, message)
        written = process_vm_rw_single_vec(caller.mm, caller.addr, target.mm, target.addr + 100, len(message), True)
        assert written == len(message)
        assert target.mm.read(target.addr + 100, len(message)) == message
        done = process_vm_rw_single_vec(caller.mm, caller.addr, target.mm, target.page(1), 3 * PAGE_SIZE, False)
        assert done == 2 * PAGE_SIZE  # the third page is past the target's mapping
        assert caller.mm.read(caller.addr, done) == target.mm.read(target.page(1), done)
