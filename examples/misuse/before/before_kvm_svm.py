"""Before: arch/x86/kvm/svm.c sev_pin_memory()/sev_unpin_memory(), 2019.
Case 1; release shape ``release_pages()``.

The PSP firmware encrypts the pages in place, yet they were taken as plain
references: the contract rejects the legacy call (mypy ``deprecated``,
pyright ``reportDeprecated``) and the data access through a ``Page`` (mypy
``attr-defined``, pyright ``reportAttributeAccessIssue``). After:
examples/drivers/kvm_svm.py.
"""

from typing import Final

import pinapi
from pinapi import FOLL_WRITE, MM, kthread_use_mm, release_pages

AFTER: Final = "kvm_svm"
RELEASE_SHAPES: Final = ("release_pages",)


def sev_launch_update_data(mm: MM, uaddr: int) -> None:
    with kthread_use_mm(mm):
        pages = pinapi.get_user_pages(uaddr, 2, FOLL_WRITE)  # type: ignore[deprecated]  # pyright: ignore[reportDeprecated]
    for page in pages:
        page.write(0, b"psp encrypted")  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
    release_pages(pages)
