"""Before: virt/kvm/kvm_main.c hva_to_pfn_slow() / kvm_release_pfn_clean(),
2019. Case 3; release shape single page.

The before code is right under the contract: KVM keeps only the pfn and an
MMU notifier, so a plain reference is what it needs. The only line flagged is
the legacy spelling (``deprecated`` / ``reportDeprecated``: say
``get_user_pages_remote()``). The series' conversion, ``put_user_page()`` on
that reference, is what the contract rejects (``arg-type`` /
``reportArgumentType``). After: examples/drivers/kvm_main.py.
"""

from typing import Final

import pinapi
from pinapi import FOLL_WRITE, MM, kthread_use_mm, put_page, unpin_user_page

AFTER: Final = "kvm_main"
RELEASE_SHAPES: Final = ("single page",)


def hva_to_pfn_slow(mm: MM, addr: int) -> int:
    with kthread_use_mm(mm):
        (page,) = pinapi.get_user_pages(addr, 1, FOLL_WRITE)  # type: ignore[deprecated]  # pyright: ignore[reportDeprecated]
    pfn = page.pfn
    put_page(page)
    return pfn


def kvm_release_pfn_clean_as_converted(mm: MM, addr: int) -> None:
    with kthread_use_mm(mm):
        (page,) = pinapi.get_user_pages(addr, 1, 0)  # type: ignore[deprecated]  # pyright: ignore[reportDeprecated]
    unpin_user_page(page)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
