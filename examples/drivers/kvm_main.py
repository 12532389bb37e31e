"""KVM guest memory: a guest frame is backed by a user page whose pfn goes
into the shadow/EPT page tables; the guest reads and writes it through them.

virt/kvm/kvm_main.c: hva_to_pfn_slow() takes the page with
``get_user_pages_unlocked(addr, 1, &page, flags)`` (retrying for a writable
one with ``__get_user_pages_fast()``), keeps its pfn and drops the reference
soon after (kvm_release_pfn_clean(): ``put_page()``). The MMU notifier zaps
the SPTE when the host mapping changes.

Case 3: an MMU notifier keeps KVM in step with the host page tables, and KVM
itself never touches the page's data, only its pfn: a plain reference. The
kernel does not pin here: in 6.12.117 hva_to_pfn_slow() still calls
get_user_pages_unlocked() and retries for a writable page with
get_user_page_fast_only(), and kvm_release_pfn_clean() goes through
kvm_release_page_clean() to put_page(). (Converting kvm_release_pfn_clean() to
put_user_page() was wrong twice over: its pfns need not come from GUP.)

Short result: one page; no page means the fault fails (KVM_PFN_ERR_FAULT).
"""

from typing import Final

from pinapi import MM, FOLL_WRITE, PAGE_SIZE, KernelError, get_user_pages_remote, put_page

from ._user import user_buffer

SUBSYSTEM: Final = "kvm"
KERNEL_FILES: Final = ("virt/kvm/kvm_main.c",)
FUNCTIONS: Final = ("hva_to_pfn_slow", "kvm_release_pfn_clean")
CASE: Final = 3
API: Final = "plain reference"
CONTAINER: Final = "single page"
RELEASE: Final = "put_page"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {"virt/kvm/kvm_main.c": ("hva_to_pfn_slow", "kvm_release_pfn_clean", "kvm_release_page_clean")}

KVM_PFN_ERR_FAULT: Final = -1


def hva_to_pfn_slow(mm: MM, hva: int, write_fault: bool) -> int:
    """The pfn backing *hva*, without keeping a reference."""
    try:
        (page,) = get_user_pages_remote(mm, hva, 1, FOLL_WRITE if write_fault else 0)
    except KernelError:
        return KVM_PFN_ERR_FAULT
    pfn = page.pfn
    put_page(page)  # kvm_release_pfn_clean(): the MMU notifier, not a reference, keeps the SPTE valid
    return pfn


class KvmMmu:
    """gfn -> pfn: the SPTEs, zapped by the MMU notifier."""

    def __init__(self, mm: MM, hva_base: int) -> None:
        self.mm = mm
        self.hva_base = hva_base
        self.sptes: dict[int, int] = {}

    def tdp_page_fault(self, gfn: int, write: bool) -> int:
        pfn = hva_to_pfn_slow(self.mm, self.hva_base + gfn * PAGE_SIZE, write)
        if pfn != KVM_PFN_ERR_FAULT:
            self.sptes[gfn] = pfn
        return pfn

    def invalidate_range_start(self, gfn: int) -> None:
        self.sptes.pop(gfn, None)


def scenario() -> None:
    with user_buffer("qemu-kvm", 2) as buf:
        mmu = KvmMmu(buf.mm, buf.addr)
        pfn = mmu.tdp_page_fault(1, write=True)
        buf.mm.write(buf.page(1), b"guest store")  # the guest writes through the SPTE, i.e. the mapping
        buf.expect(1, b"guest store")
        mmu.invalidate_range_start(1)
        assert pfn != KVM_PFN_ERR_FAULT and mmu.sptes == {}
        assert mmu.tdp_page_fault(5, write=False) == KVM_PFN_ERR_FAULT
