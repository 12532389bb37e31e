"""How pins are counted: the one place that knows the pin arithmetic.

The GUP engine calls ``try_grab_pins(folios, refs)`` with a batch of folios,
one atomic update for *refs[i]* pages of each, and ``put_pins`` to release
them; everything else asks ``maybe_dma_pinned``. Swapping the strategy (``use_tracking``) swaps the
arithmetic everywhere; it is refused while any pin is live.
"""

from __future__ import annotations

import errno
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import ClassVar, Final

from .errors import KernelBug, err
from .page_alloc import GUP_PIN_COUNTING_BIAS, PG, Folio, folios_put_refs, folios_ref_try_add, model_setting, vmstat
from .validate import entry_point

__all__ = [
    "PinTracking",
    "RefcountBias",
    "ExactCounter",
    "PageFlag",
    "LookupTree",
    "tracking",
    "use_tracking",
    "try_get_folios",
]


def try_get_folios(folios: list[Folio], refs: list[int]) -> int:
    """``try_get_folio()`` on each folio in turn: *refs[i]* plain references
    (``folios_ref_try_add()``). Returns how many folios got theirs before a
    refusal."""
    return folios_ref_try_add(folios, refs)


class PinTracking(ABC):
    """A pin-tracking strategy."""

    name: ClassVar[str]

    @abstractmethod
    def try_grab_pins(self, folios: list[Folio], refs: list[int]) -> int:
        """Pin *refs[i]* pages of ``folios[i]``, one atomic update per folio,
        in order. Stops at the first folio whose ``folio_ref_count()`` reads
        <= 0 (``try_grab_folio()``: freed, or already wrapped past INT_MAX;
        the grab that wraps it is taken), leaving it and the rest unchanged;
        returns how many were pinned."""

    @abstractmethod
    def put_pins(self, folios: list[Folio], refs: list[int]) -> None:
        """Release *refs[i]* pins of ``folios[i]``; may free folios."""

    @abstractmethod
    def maybe_dma_pinned(self, folio: Folio) -> bool:
        """May a device be accessing this folio's data? Never a false negative
        for the kernel's strategy; the others show what they get wrong."""

    def pin_refs(self, folio: Folio, pins: int) -> int:
        """How much of ``_refcount`` *pins* live pins of *folio* account for."""
        return pins

    def bytes_per_folio(self, folio: Folio) -> int:
        """Memory the strategy needs beyond ``struct folio`` for this folio."""
        return 0


class RefcountBias(PinTracking):
    """Today's kernel: a small folio's pin adds GUP_PIN_COUNTING_BIAS to
    ``_refcount``; a large folio's pin adds 1 to ``_refcount`` and 1 to
    ``_pincount``."""

    name = "refcount-bias"

    def try_grab_pins(self, folios: list[Folio], refs: list[int]) -> int:
        return folios_ref_try_add(folios, refs, GUP_PIN_COUNTING_BIAS, pincount=True)

    def put_pins(self, folios: list[Folio], refs: list[int]) -> None:
        folios_put_refs(folios, refs, GUP_PIN_COUNTING_BIAS, pincount=True)

    def maybe_dma_pinned(self, folio: Folio) -> bool:
        if folio.order:
            return folio.pincount() > 0
        return folio.refcount() & 0xFFFF_FFFF >= GUP_PIN_COUNTING_BIAS  # (unsigned int)folio_ref_count()

    def pin_refs(self, folio: Folio, pins: int) -> int:
        return pins if folio.order else pins * GUP_PIN_COUNTING_BIAS


class _PlainRefPin(PinTracking):
    """Strategies where a pin is a plain reference plus a side record."""

    def try_grab_pins(self, folios: list[Folio], refs: list[int]) -> int:
        done = try_get_folios(folios, refs)
        for folio, nr in zip(folios[:done], refs[:done]):
            self._record(folio, nr)
        return done

    def put_pins(self, folios: list[Folio], refs: list[int]) -> None:
        for folio, nr in zip(folios, refs):
            self._unrecord(folio, nr)
        folios_put_refs(folios, refs)

    @abstractmethod
    def _record(self, folio: Folio, refs: int) -> None: ...

    @abstractmethod
    def _unrecord(self, folio: Folio, refs: int) -> None: ...


class ExactCounter(_PlainRefPin):
    """The 2019 debug option: a redundant exact per-page pin counter in a
    page extension (8 bytes per page, whether pinned or not)."""

    name = "exact-counter"

    @entry_point
    def __init__(self) -> None:
        self.page_ext: dict[Folio, int] = {}

    def _record(self, folio: Folio, refs: int) -> None:
        self.page_ext[folio] = self.page_ext.get(folio, 0) + refs

    def _unrecord(self, folio: Folio, refs: int) -> None:
        left = self.page_ext[folio] - refs
        if left < 0:
            raise KernelBug(f"page_ext pin count underflow on {folio!r}")
        if left:
            self.page_ext[folio] = left
        else:
            del self.page_ext[folio]

    def maybe_dma_pinned(self, folio: Folio) -> bool:
        return self.page_ext.get(folio, 0) > 0

    def bytes_per_folio(self, folio: Folio) -> int:
        return 8 << folio.order


_PG_DMA_PINNED: Final = int(PG.dma_pinned)  # read once: an enum member lookup is slow


class PageFlag(_PlainRefPin):
    """A single "dma-pinned" page bit: set on pin, cleared on unpin. One bit
    cannot count, so the second of two overlapping pins is forgotten."""

    name = "page-flag"

    def _record(self, folio: Folio, refs: int) -> None:
        folio.flags |= _PG_DMA_PINNED

    def _unrecord(self, folio: Folio, refs: int) -> None:
        folio.flags &= ~_PG_DMA_PINNED

    def maybe_dma_pinned(self, folio: Folio) -> bool:
        return bool(folio.flags & _PG_DMA_PINNED)


class LookupTree(_PlainRefPin):
    """A lookup structure of GUP'd pages (pfn -> pins), consulted before
    release: exact, paid for per pinned folio."""

    name = "lookup-tree"

    @entry_point
    def __init__(self) -> None:
        self.tree: dict[int, int] = {}

    def _record(self, folio: Folio, refs: int) -> None:
        self.tree[folio.pfn] = self.tree.get(folio.pfn, 0) + refs

    def _unrecord(self, folio: Folio, refs: int) -> None:
        left = self.tree[folio.pfn] - refs
        if left:
            self.tree[folio.pfn] = left
        else:
            del self.tree[folio.pfn]

    def maybe_dma_pinned(self, folio: Folio) -> bool:
        return folio.pfn in self.tree

    def bytes_per_folio(self, folio: Folio) -> int:
        return 64 if folio.pfn in self.tree else 0  # one tree node per pinned folio


class _Current:
    strategy: PinTracking = RefcountBias()


tracking: Final = _Current()


@entry_point
def use_tracking(strategy: PinTracking) -> AbstractContextManager[PinTracking]:
    """Context manager: count pins with *strategy* meanwhile. EBUSY while pins
    are live, since they were counted the other way."""
    return model_setting(tracking, "strategy", strategy, _require_no_pins)


def _require_no_pins() -> None:
    if vmstat.nr_foll_pin_acquired != vmstat.nr_foll_pin_released:
        raise err(errno.EBUSY, "pin tracking changes only while no pin is live")
