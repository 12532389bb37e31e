"""Folio migration: move a folio nobody else holds to another zone, its
mappings and page-cache slot with it (what FOLL_LONGTERM needs)."""

from __future__ import annotations

import errno

from .errors import err
from .filemap import AddressSpace
from .page_alloc import PG, ZONES_MASK, Folio, Zone, alloc_folio, folio_put, vmstat
from .pin_tracking import tracking
from .rmap import folio_expected_refs, rmap_walk
from .validate import entry_point

__all__ = ["migrate_folio"]


@entry_point
def migrate_folio(folio: Folio, zone: Zone) -> Folio:
    """Move *folio*'s data, mappings and cache slot to a new folio in *zone*;
    the old one is freed. EBUSY, with nothing changed, while anyone holds a
    reference beyond the mappings and the page cache (a pin, a GUP reference);
    EINVAL for a folio already freed."""
    if folio.refcount() == 0:
        raise err(errno.EINVAL, f"cannot migrate {folio!r}: it is free")
    if tracking.strategy.maybe_dma_pinned(folio) or folio.refcount() != folio_expected_refs(folio):
        raise err(errno.EBUSY, f"cannot migrate {folio!r}: it holds extra references (pinned?)")
    new = alloc_folio(folio.order, zone)
    new.copy_data_from(folio)
    new.flags |= folio.flags & ~(PG.locked | ZONES_MASK)  # the new folio keeps its own zone
    if folio.tail is not None and new.tail is not None:  # PageAnonExclusive() of each page moves with it
        new.tail.anon_exclusive = folio.tail.anon_exclusive
    new.mapping = folio.mapping
    new.index = folio.index
    if isinstance(folio.mapping, AddressSpace):
        folio.mapping.pages[folio.index] = new
    for mm, addr in list(rmap_walk(folio)):
        mm.pgtable.replace(addr, folio, new)
    folio.move_counts_to(new)
    folio.mapping = None
    folio_put(folio, folio.refcount())
    vmstat.pgmigrate_success += 1
    return new
