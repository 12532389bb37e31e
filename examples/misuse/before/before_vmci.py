"""Before: drivers/misc/vmw_vmci vmci_host_setup_notify() /
vmci_ctx_unset_notify(), 2019 (and still today). Case 5; release shape single
page (kunmap + ``put_page()``).

A long-lived plain reference the kernel writes through: ``deprecated`` /
``reportDeprecated``, then ``arg-type`` / ``reportArgumentType``. After:
examples/drivers/vmci.py.
"""

from typing import Final

import pinapi
from pinapi import FOLL_WRITE, MM, kthread_use_mm, memcpy_to_page, put_page

AFTER: Final = "vmci"
RELEASE_SHAPES: Final = ("single page",)


def vmci_notify(mm: MM, uva: int) -> None:
    with kthread_use_mm(mm):
        (notify_page,) = pinapi.get_user_pages(uva, 1, FOLL_WRITE)  # type: ignore[deprecated]  # pyright: ignore[reportDeprecated]
    memcpy_to_page(notify_page, 0, b"\x01")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    put_page(notify_page)
