"""The seeded random walk of fuzz.py: a bounded run in every test run, and a
long one on request (``pytest tests/test_fuzz.py --fuzz-steps=1000000
--fuzz-seed=1``; progress goes to the terminal)."""

from __future__ import annotations

from typing import Any

import pytest

from fuzz import KNOWN, Report, classify, fuzz
from pinapi import Folio
from pinapi.lowlevel import RefcountBias

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
    """Unpin, but every so often leave a reference behind."""
    _put_pins(self, folios, refs)
    if folios and folios[0].pfn % 7 == 0:
        folios[0]._refcount += 1


_put_pins = RefcountBias.put_pins


@pytest.mark.parametrize(("plant", "kinds"), [
    (lambda m: m.setattr(Folio, "copy_data_from", lambda self, src: None), {"bytes", "pin bytes"}),
    (lambda m: m.setattr(RefcountBias, "put_pins", _leak_a_reference), {"counts"}),
])  # fmt: skip
def test_the_walk_catches_a_planted_bug(monkeypatch: pytest.MonkeyPatch, plant: Any, kinds: set[str]) -> None:
    """The checks have teeth: a copy-on-write that copies nothing, or an
    unpin that leaks a reference, is found within a bounded walk."""
    plant(monkeypatch)
    found = {classify(d) for d in fuzz(1, BOUNDED_STEPS).divergences}
    assert found & kinds, found
