"""mm/debug.c: ``dump_page()``, and CONFIG_DEBUG_GET_USER_PAGES_REFERENCES:
a redundant exact pin count per folio (a page extension), so that
``put_page()`` can tell when it drops a reference a live pin owns, and say
where that pin was taken."""

from __future__ import annotations

import errno
import warnings
from typing import Callable, Final

from .errors import PinnedPagePutWarning, err
from .filemap import AddressSpace
from .rmap import folio_expected_refs
from .page_alloc import PG, ZERO_FOLIO, Folio, Page, kernel_lock, page_flags, vmstat
from .pin_tracking import tracking
from .validate import entry_point

__all__ = ["debug", "dump_page", "set_debug_pins", "debug_pins_enabled"]


def dump_page(page: Page) -> list[str]:
    """``dump_page()`` (``__dump_folio()``): the state of *page* and its
    folio, a line each: the page (``refcount``, ``mapcount``, ``mapping``,
    ``index``, ``pfn``), the head of a large folio (``order``, ``mapcount``,
    ``pincount``), the flags (``anon`` first for an anonymous folio). The
    model keeps one mapcount per folio: both lines show it. ``mapping`` is 0
    for an anonymous folio (``folio_mapping()`` is NULL), else the file's
    filesystem and inode number."""
    folio = page.folio
    mapping = folio.mapping
    where = f"{mapping.host.fs.name}:{mapping.host.ino:#x}" if isinstance(mapping, AddressSpace) else "0"
    lines = [f"page: refcount:{folio.refcount()} mapcount:{folio.mapcount()} mapping:{where} "
             f"index:{folio.index + page.index:#x} pfn:{page.pfn:#x}"]  # fmt: skip
    if folio.order:
        lines.append(f"head: order:{folio.order} mapcount:{folio.mapcount()} pincount:{folio.pincount()}")
    flags = page_flags(page)
    names = "|".join([str(flag.name) for flag in PG if flags & flag] + [f"zone={folio.zone.value}"])
    lines.append(f"{'anon ' if flags & PG.anon else ''}flags: {flags:#x}({names})")
    return lines


def _unknown_site(folio: Folio) -> str:
    return "unknown"


class _Debug:
    enabled = False
    page_ext: dict[Folio, int] = {}
    #: Names where the pin on a folio was taken (set by the ledger).
    describe_pin: Callable[[Folio], str] = staticmethod(_unknown_site)

    def account(self, pages: list[Page], sign: int) -> None:
        self.account_folios([page.folio for page in pages], [1] * len(pages), sign)

    def account_folios(self, folios: list[Folio], refs: list[int], sign: int) -> None:
        """*refs[i]* pins of ``folios[i]`` were taken (*sign* 1) or dropped (-1)."""
        ext = self.page_ext
        for folio, nr in zip(folios, refs):
            if folio is ZERO_FOLIO:
                continue  # never really pinned
            n = ext.get(folio, 0) + sign * nr
            if n:
                ext[folio] = n
            else:
                del ext[folio]

    def check_put(self, folio: Folio) -> None:
        pins = self.page_ext.get(folio)
        if not pins:
            return
        if folio.refcount() - 1 < tracking.strategy.pin_refs(folio, pins) + folio_expected_refs(folio):
            warnings.warn(
                f"put_page() on a pinned page {folio!r}: that reference belongs to the pin "
                f"taken at {self.describe_pin(folio)}; release pins with unpin_user_page()",
                PinnedPagePutWarning,
                stacklevel=4,
            )


debug: Final = _Debug()


@entry_point
def set_debug_pins(enabled: bool) -> None:
    """Turn the debug pin counter on or off; EBUSY while pins are live."""
    with kernel_lock:
        if vmstat.nr_foll_pin_acquired != vmstat.nr_foll_pin_released or debug.page_ext:
            raise err(errno.EBUSY, "the debug pin counter changes only while no pin is live")
        debug.enabled = enabled


@entry_point
def debug_pins_enabled() -> bool:
    return debug.enabled
