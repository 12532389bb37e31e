"""pytest plugin ``pinapi``: a test that leaves a pin, a bvec or a plain page
reference live fails, naming the call that took it.

Installed with pinapi (entry point ``pytest11``), it does nothing until
enabled, so no other project's tests change: ``pytest --pinapi-balance``, or
``pinapi_balance = true`` in the ini file. Enabled:

- the debug pin counter is on for the whole run (``--pinapi-no-debug``: off);
- after each test's teardown, a pin or bvec the test's body took and has not
  released (in the pin ledger, with its call site) fails it, and so does a
  plain reference it took (``get_user_pages_remote()``, ``get_user_pages()``,
  ``follow_page()``, ``get_page()``, ``alloc_page()``) and has not dropped
  with ``put_page()`` or ``release_pages()``;
- a test marked ``@pytest.mark.pinapi_leaks`` may leave them live on purpose.

What fixtures take before the test's body runs is theirs, not the test's:
a session fixture may hold pins across tests.

Plain references have no ledger in the model: the plugin records them by
wrapping those calls in the ``pinapi`` namespace before conftest files and
test modules import them, and puts the originals back at the end.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable, Generator, Iterable
from functools import wraps
from types import ModuleType
from typing import Any

import pytest

from . import KernelError
from ._tools.balance import REFERENCE_CALLS, Contract

MARKER = "pinapi_leaks"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pinapi")
    group.addoption("--pinapi-balance", action="store_true",
                    help="fail a test that leaves a pin, a bvec or a plain page reference live")  # fmt: skip
    group.addoption("--pinapi-no-debug", action="store_true",
                    help="with --pinapi-balance: leave the debug pin counter off")  # fmt: skip
    parser.addini("pinapi_balance", type="bool", default=False, help="as --pinapi-balance")


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Enabled, start recording before any conftest imports pinapi's calls."""
    if early_config.known_args_namespace.pinapi_balance or early_config.getini("pinapi_balance"):
        early_config.pluginmanager.register(_Balance(not early_config.known_args_namespace.pinapi_no_debug),
                                            "pinapi-balance")  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: the test leaves pins or page references live on purpose")


def _site() -> str:
    """``file:line (function)`` of the first caller outside pinapi."""
    f = inspect.currentframe()  # _site's own: in pinapi, so skipped
    assert f is not None
    while f.f_back is not None and f.f_globals.get("__name__", "").split(".")[0] == "pinapi":
        f = f.f_back
    return f"{f.f_code.co_filename}:{f.f_lineno} ({f.f_code.co_name})"


def _returned(result: object) -> list[Any]:
    """The pages a call returned: its list, or the one page."""
    return [*result] if isinstance(result, list) else [result]


class _References:
    """Plain references taken through pinapi's calls and not yet dropped:
    per folio, the sites that took them (the folio kept alive by the record)."""

    def __init__(self, pinapi: ModuleType) -> None:
        contract = Contract.load()
        pins = contract.batches | {contract.elements[b] for b in contract.batches}
        plain = contract.handles - pins
        self.pinapi = pinapi
        self.lock = threading.Lock()
        self.live: dict[int, list[tuple[object, str, int]]] = {}
        self.epoch = 0
        self.saved: dict[str, Callable[..., Any]] = {}
        for name, a in contract.acquire.items():
            if a.cls in plain:
                self.wrap(name, from_result=True, taken=True)
        for name in REFERENCE_CALLS:
            self.wrap(name, from_result=False, taken=True)
        for name, (_, kinds) in contract.release.items():
            if kinds & plain:
                self.wrap(name, from_result=False, taken=False)

    def wrap(self, name: str, from_result: bool, taken: bool) -> None:
        """Record the pages *name* returns (or those of its first argument) as
        *taken* or dropped, once the call has succeeded."""
        original = getattr(self.pinapi, name)
        self.saved[name] = original

        @wraps(original)
        def recorded(*args: Any, **kwargs: Any) -> Any:
            pages: list[Any] = []
            if not from_result and args:
                if hasattr(args[0], "folio"):
                    pages = [args[0]]
                elif isinstance(args[0], Iterable):  # of pages: the call and the record both see them
                    pages = [*args[0]]
                    args = (pages, *args[1:])
            result = original(*args, **kwargs)
            if from_result:
                pages = _returned(result)
            site = f"{name}() at {_site()}"
            with self.lock:
                for folio in [p.folio for p in pages if hasattr(p, "folio")]:
                    if taken:
                        self.live.setdefault(id(folio), []).append((folio, site, self.epoch))
                    elif self.live.get(id(folio)):
                        self.live[id(folio)].pop()
            return result

        setattr(self.pinapi, name, recorded)

    def restore(self) -> None:
        for name, original in self.saved.items():
            setattr(self.pinapi, name, original)

    def start(self) -> None:
        """A new test: what it takes from now on is its own."""
        with self.lock:
            self.epoch += 1

    def left(self) -> list[str]:
        """The references this test took and still holds."""
        with self.lock:
            return [f"a plain reference to {folio!r} taken by {site}"
                    for records in self.live.values() for folio, site, epoch in records
                    if epoch == self.epoch]  # fmt: skip


class _Balance:
    """The enabled plugin: the debug counter for the run, the check per test."""

    def __init__(self, debug: bool) -> None:
        from . import lowlevel

        self.lowlevel = lowlevel
        self.debug = debug
        self.was = lowlevel.debug_pins_enabled()
        self.references = _References(importlib.import_module("pinapi"))
        self.before: set[int] = set()

    def pytest_sessionstart(self) -> None:
        if self.debug:
            self.lowlevel.set_debug_pins(True)

    def pytest_unconfigure(self) -> None:
        self.references.restore()
        if self.debug:
            try:
                self.lowlevel.set_debug_pins(self.was)
            except KernelError:
                pass  # a test marked pinapi_leaks left pins live: the counter stays on

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self) -> None:
        self.before = {r.seq for r in self.lowlevel.pin_ledger()}
        self.references.start()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None]:
        yield
        if item.get_closest_marker(MARKER) is not None:
            return
        left = [f"{'pins' if r.pages else 'a bvec'} on {r.live} page{'s' if r.live != 1 else ''} for {r.owner!r} "
                f"taken at {r.site}" for r in self.lowlevel.pin_ledger() if r.seq not in self.before]  # fmt: skip
        left += self.references.left()
        if left:
            pytest.fail(f"{item.name} left {len(left)} live:\n  " + "\n  ".join(left), pytrace=False)
