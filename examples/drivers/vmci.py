"""VMCI host side: the kernel CPU writes a context's notify flag and copies
queue-pair data to and from user pages for as long as they are registered.

drivers/misc/vmw_vmci/vmci_context.c: vmci_ctx_unset_notify() kunmaps and
put_page()s the notify page that vmci_host_setup_notify() took with
``get_user_pages_fast(uva, 1, FOLL_WRITE, &page)`` and kmapped.
drivers/misc/vmw_vmci/vmci_queue_pair.c: qp_host_get_user_memory() takes the
produce and consume queues with ``get_user_pages_fast(uva, num_pages,
FOLL_WRITE, ...)``; qp_host_unregister_user_memory() / qp_release_pages()
``set_page_dirty()`` and put_page() them.

Case 5: the kernel writes page data through kmap, so a pin; held until
unset or unregister, so FOLL_LONGTERM. The kernel has converted neither: in
6.12.117 vmci_host_setup_notify() (in vmci_host.c) and
qp_host_get_user_memory() still call get_user_pages_fast(), and
vmci_ctx_unset_notify() and qp_release_pages() put_page(). The CPU accesses go
through ``memcpy_to_page()`` / ``memcpy_from_page()`` on the pins.

Short result: a notify GUP != 1 is VMCI_ERROR_GENERIC; a short queue is
released undirtied with VMCI_ERROR_NO_MEM.
"""

from typing import Final

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, PAGE_SIZE, PinnedPage, PinnedPages, VaddrPin, Write,
    memcpy_from_page, memcpy_to_page, unpin_user_page, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import user_buffer

SUBSYSTEM: Final = "misc/vmw_vmci"
KERNEL_FILES: Final = ("drivers/misc/vmw_vmci/vmci_context.c", "drivers/misc/vmw_vmci/vmci_queue_pair.c")
FUNCTIONS: Final = (
    "vmci_host_setup_notify", "vmci_ctx_unset_notify", "qp_host_get_user_memory",
    "qp_host_unregister_user_memory", "qp_release_pages",
)  # fmt: skip
CASE: Final = 5
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "single page"
RELEASE: Final = "unpin_user_page, unpin_user_pages_dirty_lock"
JUDGEMENT: Final = (
    "CPU writes (case 5) held for a context's life: a long-term pin; 6.12.117 still uses "
    "get_user_pages_fast"
)
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "drivers/misc/vmw_vmci/vmci_host.c": ("vmci_host_setup_notify",),
    "drivers/misc/vmw_vmci/vmci_context.c": ("vmci_ctx_unset_notify",),
    "drivers/misc/vmw_vmci/vmci_queue_pair.c": ("qp_host_get_user_memory", "qp_release_pages"),
}

VMCI_FLAG: Final = b"\x01"


class VmciCtx:
    """The notify page of ``struct vmci_ctx``."""

    def __init__(self, uva: int, owner: VaddrPin) -> None:
        self.offset = uva % PAGE_SIZE
        self.notify_page: PinnedPage[Write] = vaddr_pin_pages(uva - self.offset, 1, FOLL_WRITE | FOLL_LONGTERM, owner)[0]

    def ctx_signal_notify(self) -> None:
        memcpy_to_page(self.notify_page, self.offset, VMCI_FLAG)

    def vmci_ctx_unset_notify(self) -> None:
        unpin_user_page(self.notify_page)


class QpHost:
    """A host queue pair: produce and consume queues of user pages."""

    def __init__(self, produce_uva: int, consume_uva: int, num_pages: int, owner: VaddrPin) -> None:
        flags = FOLL_WRITE | FOLL_LONGTERM
        self.produce_q: PinnedPages[Write] = vaddr_pin_pages(produce_uva, num_pages, flags, owner)
        self.consume_q: PinnedPages[Write] = vaddr_pin_pages(consume_uva, num_pages, flags, owner)

    def enqueue_from_peer(self, data: bytes) -> None:
        """The peer's data lands in the consume queue (a kernel memcpy)."""
        memcpy_to_page(self.consume_q[0], 0, data)

    def dequeue_for_peer(self, length: int) -> bytes:
        return memcpy_from_page(self.produce_q[0], 0, length)

    def qp_host_unregister_user_memory(self) -> None:
        unpin_user_pages_dirty_lock(self.produce_q, make_dirty=True)
        unpin_user_pages_dirty_lock(self.consume_q, make_dirty=True)


def scenario() -> None:
    with user_buffer("vmx", 3, fill=b"guest says hi") as buf:
        ctx = VmciCtx(buf.page(0) + 64, buf.owner)
        ctx.ctx_signal_notify()
        ctx.vmci_ctx_unset_notify()
        buf.expect(0, VMCI_FLAG, offset=64)
        qp = QpHost(buf.page(1), buf.page(2), 1, buf.owner)
        qp.enqueue_from_peer(b"datagram")
        assert qp.dequeue_for_peer(13) == b"guest says hi"
        qp.qp_host_unregister_user_memory()
        buf.expect(2, b"datagram")
