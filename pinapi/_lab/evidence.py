"""What each release mistake does when a pin is a bare ``struct page``.

The typed handles stop these mistakes before they run. The 2019 proposals
other than a distinct type lived in C, where ``pin_user_pages()`` hands back
``struct page *`` and nothing tells a pinned page from a referenced one. Each
experiment here makes one mistake that way, on pages reached through the page
table (the very ``struct page`` a C caller holds), then lets the process exit
and counts what the mistake left behind. It runs once with the debug pin
counter off and once on, and puts everything back afterwards.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from .._bvec import get_user_bvec, put_user_bvec
from .._mm.debug import debug, set_debug_pins
from .._mm.errors import KernelBug, PinWarning
from .._legacy import get_page, get_user_pages_remote, put_page, release_pages
from .._mm.mmap import MADV_HUGEPAGE, MM
from .._mm.page_alloc import PAGE_SIZE, PMD_SIZE, Folio, Page, kernel_lock
from .._pin import VaddrPin, unpin_user_pages, vaddr_pin_pages
from .._mm.pin_tracking import tracking

__all__ = ["Outcome", "EXPERIMENTS", "run_experiment"]

_N: Final = 4  # small pages per experiment


@dataclass(frozen=True)
class Outcome:
    """What one mistake did: the first exception or warning it raised (None:
    silent) and the references it left on the pages after the process exited
    (0: every page freed)."""

    raised: str | None
    leaked_refs: int

    def __str__(self) -> str:
        leak = f"leaks {self.leaked_refs} refs, page never freed" if self.leaked_refs else "no leak"
        return f"{self.raised}; {leak}" if self.raised else f"silent; {leak}"


@dataclass
class _World:
    mm: MM
    owner: VaddrPin
    addr: int
    #: Run after the measurement to give back what the mistake took.
    undo: list[Callable[[], None]]

    def bare(self, addr: int, n: int) -> list[Page]:
        """The ``struct page``s mapped at ``[addr, addr + n pages)``."""
        pages = [self.mm.lookup(addr + i * PAGE_SIZE) for i in range(n)]
        assert all(p is not None for p in pages)
        return pages  # type: ignore[return-value]


def _put_page_on_pins(w: _World) -> list[Folio]:
    pins = vaddr_pin_pages(w.addr, _N, 0, w.owner)
    bare = w.bare(w.addr, _N)
    w.undo += [lambda: release_bare_refs(bare), lambda: unpin_user_pages(pins)]
    for page in bare:
        put_page(page)  # the driver "releases" its pins the old way
    return [p.folio for p in bare]


def _release_pages_on_pins(w: _World) -> list[Folio]:
    pins = vaddr_pin_pages(w.addr, _N, 0, w.owner)
    bare = w.bare(w.addr, _N)
    w.undo += [lambda: release_bare_refs(bare), lambda: unpin_user_pages(pins)]
    release_pages(bare)
    return [p.folio for p in bare]


def _mixed_list_released(w: _World) -> list[Folio]:
    plain = get_user_pages_remote(w.mm, w.addr, _N // 2, 0)
    pins = vaddr_pin_pages(w.addr + (_N // 2) * PAGE_SIZE, _N // 2, 0, w.owner)
    bare = w.bare(w.addr + (_N // 2) * PAGE_SIZE, _N // 2)
    w.undo += [lambda: release_bare_refs(bare), lambda: unpin_user_pages(pins)]
    release_pages(plain + bare)  # one array, one release call, two kinds of page
    return [p.folio for p in plain + bare]


def _put_page_on_bvec_pages(w: _World) -> list[Folio]:
    bvec = get_user_bvec(w.addr, PMD_SIZE, 0, w.owner)
    bare = w.bare(w.addr, 1)
    w.undo += [lambda: release_bare_refs(bare), lambda: put_user_bvec(bvec, False)]
    put_page(bare[0])  # one put for the one huge page the bvec pinned
    return [bare[0].folio]


def _unpin_plain_pages(w: _World) -> list[Folio]:
    plain = get_user_pages_remote(w.mm, w.addr, _N, 0)
    folios = [p.folio for p in plain]
    w.undo.append(lambda: release_pages(plain))
    tracking.strategy.put_pins(folios, [1] * _N)  # unpin_user_pages() on struct pages never pinned
    return folios


def release_bare_refs(bare: list[Page]) -> None:
    """Give back the references a mistaken put took, so the pins can go."""
    for page in bare:
        get_page(page)


EXPERIMENTS: Final[dict[str, Callable[[_World], list[Folio]]]] = {
    "put_page on a pinned page": _put_page_on_pins,
    "release_pages on pinned pages": _release_pages_on_pins,
    "one release_pages for a mix of pinned and plain pages": _mixed_list_released,
    "put_page on the page of a bvec (THP)": _put_page_on_bvec_pages,
    "unpin on plain get_user_pages references": _unpin_plain_pages,
}


def run_experiment(name: str, debug_on: bool) -> Outcome:
    """Make mistake *name* on bare pages and report what it did."""
    was = debug.enabled
    set_debug_pins(debug_on)
    mm = MM(f"evidence: {name}")
    w = _World(mm, VaddrPin(mm=mm), 0, [])
    try:
        with kernel_lock, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PinWarning)
            w.addr = mm.mmap(PMD_SIZE)
            if "THP" in name:
                mm.madvise(w.addr, PMD_SIZE, MADV_HUGEPAGE)
            mm.write(w.addr, b"\x11" * PMD_SIZE)
            raised: str | None = None
            try:
                folios = EXPERIMENTS[name](w)
            except KernelBug as e:
                raised, folios = f"BUG: {str(e).split(' on ')[0]}", []
            if caught and raised is None:
                raised = f"WARN {caught[0].category.__name__}"
            mm.exit()
            leaked = sum(f.refcount() for f in {id(f): f for f in folios}.values())
    finally:
        for undo in w.undo:
            undo()
        mm.exit()
        set_debug_pins(was)
    return Outcome(raised, leaked)
