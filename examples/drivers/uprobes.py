"""uprobes: a breakpoint is written into a process's text by replacing the
page with a patched copy, and probe hits check the opcode there.

kernel/events/uprobes.c: uprobe_write_opcode() takes the old page with
``get_user_pages_remote(NULL, mm, vaddr, 1, FOLL_FORCE | FOLL_SPLIT_PMD,
&old_page, &vma)``, verifies the opcode (a CPU read), copies the page into a
new one with the opcode patched and __replace_page()s it; is_trap_at_addr()
reads the opcode of ``get_user_pages_remote(..., FOLL_FORCE, &page)``. Both
put_page().

The struct-page part (rmap swap of old for new) is case 4, but both
functions read the page's data, which the contract gives only to a pin: here
short pins with FOLL_FORCE, and the patched copy is made as a FOLL_FORCE
write breaks COW (the effect __replace_page() has). The kernel keeps plain
references: in 6.12.117 uprobe_write_opcode() takes the old page with
get_user_page_vma_remote() (FOLL_FORCE, and FOLL_SPLIT_PMD to register) and
still swaps in a patched copy with __replace_page(); is_trap_at_addr() first
reads the opcode with __get_user() with page faults disabled, and only then
takes the page with get_user_pages(FOLL_FORCE) on current's mm; both
put_page(). A mainline copy after 6.12 (with the hprobe uretprobe code that
6.12.117 lacks) has the same uprobe_write_opcode().

Short result: one page; none is the error.
"""

from typing import Final

from pinapi import (
    MM, PAGE_SIZE, FOLL_FORCE, FOLL_WRITE, VaddrPin, memcpy_from_page, memcpy_to_page,
    unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import user_buffer

SUBSYSTEM: Final = "kernel/events"
KERNEL_FILES: Final = ("kernel/events/uprobes.c",)
FUNCTIONS: Final = ("uprobe_write_opcode", "is_trap_at_addr")
CASE: Final = 5
API: Final = "pin"
CONTAINER: Final = "single page"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = (
    "case 4 for the page swap, but it reads and patches text: pinned here; the kernel kept FOLL_GET "
    "(get_user_page_vma_remote(), get_user_pages() in 6.12.117)"
)
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"kernel/events/uprobes.c": ("uprobe_write_opcode", "is_trap_at_addr")}

UPROBE_SWBP_INSN: Final = b"\xcc"


def is_trap_at_addr(mm: MM, vaddr: int) -> bool:
    offset = vaddr % PAGE_SIZE
    (page,) = vaddr_pin_pages(vaddr - offset, 1, FOLL_FORCE, VaddrPin(mm=mm))
    trap = memcpy_from_page(page, offset, 1) == UPROBE_SWBP_INSN
    unpin_user_pages_dirty_lock([page], make_dirty=False)
    return trap


def uprobe_write_opcode(mm: MM, vaddr: int, opcode: bytes) -> None:
    offset = vaddr % PAGE_SIZE
    (page,) = vaddr_pin_pages(vaddr - offset, 1, FOLL_FORCE | FOLL_WRITE, VaddrPin(mm=mm))
    memcpy_to_page(page, offset, opcode)
    unpin_user_pages_dirty_lock([page], make_dirty=True)


def scenario() -> None:
    with user_buffer("probed", 1, fill=b"\x55\x48\x89\xe5", writable=False) as text:
        assert not is_trap_at_addr(text.mm, text.addr)
        uprobe_write_opcode(text.mm, text.addr, UPROBE_SWBP_INSN)  # set_swbp()
        assert is_trap_at_addr(text.mm, text.addr)
        text.expect(0, b"\xcc\x48\x89\xe5")
        uprobe_write_opcode(text.mm, text.addr, b"\x55")  # set_orig_insn()
        text.expect_untouched([0])
