"""Before: mm/process_vm_access.c process_vm_rw_single_vec(), 2019. Case 5;
release shapes array and dirty-lock (``set_page_dirty_lock()`` if writing,
``put_page()``).

``get_user_pages_remote()`` itself is fine (plain references), but the CPU
copy into them is the case-5 bug: mypy ``arg-type``, pyright
``reportArgumentType`` on ``memcpy_to_page(page, ...)``. After:
examples/drivers/process_vm_access.py.
"""

from typing import Final

from pinapi import FOLL_WRITE, MM, get_user_pages_remote, memcpy_to_page, put_page, set_page_dirty_lock

AFTER: Final = "process_vm_access"
RELEASE_SHAPES: Final = ("array", "dirty-lock")


def process_vm_writev(target: MM, addr: int, data: bytes) -> None:
    process_pages = get_user_pages_remote(target, addr, 2, FOLL_WRITE)
    for page in process_pages:
        memcpy_to_page(page, 0, data)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    for page in process_pages:
        set_page_dirty_lock(page)
        put_page(page)
