"""Frame vectors: videobuf2 USERPTR buffers (and exynos g2d) hand the device
a user buffer for the buffer's life.

mm/frame_vector.c: get_vaddr_frames() fills a ``struct frame_vector`` with
``get_user_pages_locked()`` (pfns without a reference for VM_IO/VM_PFNMAP);
put_vaddr_frames() put_page()s each page when it took references.

Case 2: the device DMAs into the buffer for as long as it is queued, so a pin
with FOLL_LONGTERM, which is where the kernel went: in 6.12.117
mm/frame_vector.c is gone, and get_vaddr_frames() in
drivers/media/common/videobuf2/frame_vector.c calls pin_user_pages_fast()
with FOLL_LONGTERM (FOLL_WRITE when writing), with no pfn-only path left. The release is unpin_user_pages(), undirtied, as in
put_vaddr_frames().

Short result: a partial count is returned and vb2_create_framevec() treats
``ret != nr`` as an error and releases it.
"""

from typing import Final

from pinapi import (
    FOLL_FORCE, FOLL_LONGTERM, FOLL_WRITE, MaybeWrite, PinnedPages, VaddrPin, unpin_user_pages, vaddr_pin_pages,
)  # fmt: skip

from ._user import dma_read, user_buffer

SUBSYSTEM: Final = "mm"
KERNEL_FILES: Final = ("mm/frame_vector.c",)
FUNCTIONS: Final = ("get_vaddr_frames", "put_vaddr_frames")
CASE: Final = 2
API: Final = "pin+FOLL_LONGTERM"
CONTAINER: Final = "array"
RELEASE: Final = "unpin_user_pages"
JUDGEMENT: Final = ""
CHECKED_IN: Final = "v6.12.117"
CHECKED: Final = {
    "mm/frame_vector.c": (),
    "drivers/media/common/videobuf2/frame_vector.c": ("get_vaddr_frames", "put_vaddr_frames"),
    "drivers/media/common/videobuf2/videobuf2-memops.c": ("vb2_create_framevec",),
}


class FrameVector:
    """``struct frame_vector``: the pinned frames of one buffer."""

    def __init__(self, start: int, nr_frames: int, write: bool, owner: VaddrPin) -> None:
        flags = FOLL_FORCE | FOLL_LONGTERM | FOLL_WRITE if write else FOLL_FORCE | FOLL_LONGTERM
        self.frames: PinnedPages[MaybeWrite] = vaddr_pin_pages(start, nr_frames, flags, owner)

    def put_vaddr_frames(self) -> None:
        unpin_user_pages(self.frames)


def scenario() -> None:
    with user_buffer("vb2 output", 2, fill=b"out frame") as buf:
        vec = FrameVector(buf.addr, 2, write=False, owner=buf.owner)
        sent = dma_read(vec.frames, len(buf.fill))
        vec.put_vaddr_frames()
        assert sent == buf.fill * 2
        buf.expect_untouched(range(2))
