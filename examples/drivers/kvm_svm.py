"""AMD SEV: the PSP firmware encrypts guest memory in place, by physical
address, either for one ioctl or for a registered region's life.

arch/x86/kvm/svm.c: sev_pin_memory() fills a page array with
``get_user_pages_fast(uaddr, npages, write ? FOLL_WRITE : 0, pages)``;
sev_unpin_memory() hands it to ``release_pages()``, undirtied. The per-ioctl
users are sev_launch_update_data(), sev_dbg_crypt() and sev_launch_secret();
svm_register_enc_region() (KVM_MEMORY_ENCRYPT_REG_REGION) keeps its pages
until unregister or VM destroy.

Case 1 for the ioctls (a pin) and case 2 for the registered region (a pin with
FOLL_LONGTERM). In 6.12.117 the code is in arch/x86/kvm/svm/sev.c:
sev_pin_memory() passes its caller's flags to pin_user_pages_fast();
sev_launch_update_data() passes FOLL_WRITE and set_page_dirty_lock()s every
page before sev_unpin_memory(), which is unpin_user_pages(), undirtied; and
sev_mem_enc_register_region() (svm_register_enc_region() in 2019) passes
FOLL_LONGTERM alone, noting that KVM does not write through those pins. (A
mainline copy after 6.12 still passed FOLL_WRITE | FOLL_LONGTERM there.)
Here every pin asks for FOLL_WRITE and every release dirties, the registered
region's too, since the scenario has the guest's writes land through the
region's pins.

Short result: ``npinned != npages`` released the partial pages and failed with
ENOMEM; an all-or-nothing pin has nothing partial to release.
"""

from typing import Final

from pinapi import (
    FOLL_LONGTERM, FOLL_WRITE, PinnedPages, VaddrPin, Write, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip

from ._user import dma_write, stamp, user_buffer

SUBSYSTEM: Final = "x86/kvm (SEV)"
KERNEL_FILES: Final = ("arch/x86/kvm/svm.c",)
FUNCTIONS: Final = ("sev_pin_memory", "sev_unpin_memory", "sev_launch_update_data", "svm_register_enc_region")
CASE: Final = 1
API: Final = "pin"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages_dirty_lock"
JUDGEMENT: Final = (
    "one helper serves per-ioctl pins (case 1) and registered regions (case 2, FOLL_LONGTERM); the region "
    "is pinned FOLL_WRITE and dirtied on release here, while 6.12.117 pins it without FOLL_WRITE and "
    "unpins it undirtied"
)
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "arch/x86/kvm/svm.c": (),
    "arch/x86/kvm/svm/sev.c": (
        "sev_pin_memory", "sev_unpin_memory", "sev_launch_update_data", "sev_mem_enc_register_region",
    ),
}


def sev_pin_memory(uaddr: int, npages: int, longterm: bool, owner: VaddrPin) -> PinnedPages[Write]:
    """Pin for the firmware to write; FOLL_LONGTERM for a registered region."""
    return vaddr_pin_pages(uaddr, npages, FOLL_WRITE | FOLL_LONGTERM if longterm else FOLL_WRITE, owner)


def sev_unpin_memory(pages: PinnedPages[Write]) -> None:
    unpin_user_pages_dirty_lock(pages, make_dirty=True)


def sev_launch_update_data(uaddr: int, npages: int, owner: VaddrPin) -> None:
    """LAUNCH_UPDATE_DATA: encrypt in place for the ioctl's duration."""
    pages = sev_pin_memory(uaddr, npages, longterm=False, owner=owner)
    dma_write(pages, b"psp encrypted")
    sev_unpin_memory(pages)


def scenario() -> None:
    with user_buffer("sev guest", 4) as buf:
        sev_launch_update_data(buf.addr, 2, buf.owner)
        buf.expect_stamped(b"psp encrypted", range(2))
        region = sev_pin_memory(buf.page(2), 2, longterm=True, owner=buf.owner)  # svm_register_enc_region
        region[1].write(0, stamp(b"guest", 3))
        sev_unpin_memory(region)
        buf.expect_stamped(b"guest", [3])
