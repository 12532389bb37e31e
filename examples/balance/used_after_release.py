"""Balance gallery: data access, a struct-page call or a member of an element
after the handle's release on some path: EINVAL for a pin at run time, a
page that may already be reused in the kernel."""

from pinapi import (
    FOLL_WRITE, KernelError, MM, PAGE_SIZE, PinnedPage, VaddrPin, Write, alloc_page, follow_page, for_each_sg,
    get_user_pages_remote, memcpy_from_page, memcpy_to_page, put_page, sg_alloc_table_from_pages,
    sg_free_table, sg_page, unpin_user_page, unpin_user_pages, unpin_user_pages_dirty_lock, vaddr_pin_pages,
)  # fmt: skip


def read_after_unpin(owner: VaddrPin, addr: int) -> bytes:
    pins = vaddr_pin_pages(addr, 2, 0, owner)
    unpin_user_pages(pins)
    return pins[1].read(0, 8)  # balance: pin-used-after-release


def kernel_page_copied_after_put(owner: VaddrPin) -> bytes:
    bounce = alloc_page()
    memcpy_to_page(bounce, 0, b"bounce")
    put_page(bounce)
    return memcpy_from_page(bounce, 0, 6)  # balance: pin-used-after-release


def write_after_the_with_block(owner: VaddrPin, addr: int) -> None:
    with vaddr_pin_pages(addr, 1, FOLL_WRITE, owner) as pins:
        pins[0].write(0, b"in time")
    pins[0].write(0, b"too late")  # balance: pin-used-after-release


def pfn_after_put_page(backing: MM, addr: int) -> int:
    vma = backing.find_vma(addr)
    assert vma is not None
    page = follow_page(vma, addr)
    if page is None:
        return 0
    put_page(page)
    return page.pfn  # balance: pin-used-after-release


def helper_touches_the_data_after_release(owner: VaddrPin, addr: int) -> None:
    pins = vaddr_pin_pages(addr, 1, FOLL_WRITE, owner)
    unpin_user_pages_dirty_lock(pins, make_dirty=True)
    _stamp(pins[0])  # balance: pin-used-after-release


def _stamp(pin: PinnedPage[Write]) -> None:
    memcpy_to_page(pin, 0, b"stamp")


def element_used_after_its_own_put(mm: MM, start: int) -> list[int]:
    pfns: list[int] = []
    for page in get_user_pages_remote(mm, start, 4, 0):
        put_page(page)
        pfns.append(page.pfn)  # balance: pin-used-after-release
    return pfns


def sg_table_outlives_the_pins(owner: VaddrPin, addr: int) -> None:
    pins = vaddr_pin_pages(addr, 2, FOLL_WRITE, owner)
    sgt = sg_alloc_table_from_pages(pins, 0, 2 * PAGE_SIZE)
    unpin_user_pages(pins)
    for sg in for_each_sg(sgt):
        sg_page(sg).write(sg.offset, b"DMA")  # balance: pin-used-after-release
    sg_free_table(sgt)


def handler_reads_what_the_body_released(owner: VaddrPin, addr: int, backing: MM) -> bytes:
    (pin,) = vaddr_pin_pages(addr, 1, 0, owner)
    try:
        unpin_user_page(pin)
        backing.write(addr, b"after")
    except KernelError:
        return pin.read(0, 4)  # balance: pin-used-after-release
    return b""
