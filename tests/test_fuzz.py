"""The seeded random walk of fuzz.py: a bounded run in every test run, and a
long one on request (``pytest tests/test_fuzz.py --fuzz-steps=1000000
--fuzz-seed=1``; progress goes to the terminal)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from fuzz import KNOWN, Report, classify, fuzz
from pinapi import Folio, KernelError, Page
from pinapi._mm import gup, vmscan
from pinapi._mm.mm_types import MMStruct
from pinapi.lowlevel import PG, ZERO_FOLIO, RefcountBias

BOUNDED_SEEDS = (1, 2, 3)
BOUNDED_STEPS = 600


def verdict(report: Report) -> None:
    """Fail on any divergence, each named by its diagnosis."""
    assert not report.divergences, "\n\n".join(f"{KNOWN.get(classify(d), 'unclassified')}: {d}"
                                                for d in report.divergences)  # fmt: skip


@pytest.mark.parametrize("seed", BOUNDED_SEEDS)
def test_a_bounded_random_walk(seed: int) -> None:
    verdict(fuzz(seed, BOUNDED_STEPS))


def test_the_long_walk(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> None:
    steps = request.config.getoption("--fuzz-steps")
    if not steps:
        pytest.skip("the long mode: --fuzz-steps=N")
    seed = request.config.getoption("--fuzz-seed")

    def progress(r: Report) -> None:
        if r.epochs % 40 == 0 or r.steps >= steps:
            with capsys.disabled():
                print(f"fuzz seed {seed}: {r.steps:,} steps, {r.epochs} epochs, {r.seconds:,.0f} s, "
                      f"divergences {dict(r.kinds())}", flush=True)  # fmt: skip

    report = fuzz(seed, steps, progress)
    with capsys.disabled():
        for kind, d in {classify(d): d for d in reversed(report.divergences)}.items():
            print(f"--- {kind}: {report.kinds()[kind]} times; the first:\n{d}")
    verdict(report)


def _leak_a_reference(self: RefcountBias, folios: list[Folio], refs: list[int]) -> None:
    """Unpin, but at every third release leave a reference behind (counted
    by calls, not pfns, which depend on what ran before)."""
    _put_pins(self, folios, refs)
    if folios and next(_releases) % 3 == 2:
        folios[0]._refcount += 1


_releases = itertools.count()


_put_pins = RefcountBias.put_pins


def _fast_skips_a_grab(mm: MMStruct, start: int, end: int, flags: gup.FOLL, pages: list[Page] | None,
                       fast: bool = False) -> tuple[gup.FolioRuns, KernelError | None]:  # fmt: skip
    """The walk, but GUP-fast takes its first folio without a reference
    (the plain-reference path: a pin left so could not be unpinned)."""
    runs, error = _get_user_pages(mm, start, end, flags, pages, fast)
    if fast and not flags & gup.FOLL.PIN and runs.folios and runs.folios[0] is not ZERO_FOLIO:
        gup.put_folio_refs(runs.folios[0], 1, flags, unwind=True)
    return runs, error


_get_user_pages = getattr(gup, "__get_user_pages")


def _swap_even_if_pinned(folio: Folio, mappings: int) -> bool:
    """MADV_PAGEOUT's test, blind to pins and other references."""
    return folio.test(PG.anon) and not folio.test(PG.hugetlb) and folio.mapcount() == mappings


@pytest.mark.parametrize(("plant", "kinds"), [
    (lambda m: m.setattr(Folio, "copy_data_from", lambda self, src: None), {"bytes", "pin bytes"}),
    (lambda m: m.setattr(RefcountBias, "put_pins", _leak_a_reference), {"counts"}),
    (lambda m: m.setattr(vmscan, "_may_swap", _swap_even_if_pinned), {"pageout"}),
    (lambda m: m.setattr(gup, "__get_user_pages", _fast_skips_a_grab), {"counts"}),
])  # fmt: skip
def test_the_walk_catches_a_planted_bug(monkeypatch: pytest.MonkeyPatch, plant: Any, kinds: set[str]) -> None:
    """The checks have teeth: a copy-on-write that copies nothing, an unpin
    that leaks a reference, MADV_PAGEOUT of pinned pages, or a GUP-fast that
    takes what it must leave to the slow path, is found within a bounded
    walk."""
    plant(monkeypatch)
    found = {classify(d) for d in fuzz(1, BOUNDED_STEPS).divergences}
    assert found & kinds, found
