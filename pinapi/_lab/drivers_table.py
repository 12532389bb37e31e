"""``pinapi drivers``: the call-site corpus in examples/drivers as a table
(printed; ``--write`` writes docs/drivers.md, ``--check`` compares).

Each module there declares what it models in constants: ``SUBSYSTEM``,
``KERNEL_FILES``, ``FUNCTIONS``, ``CASE`` (pin_user_pages.rst, 1 to 5),
``API``, ``CONTAINER``, ``RELEASE`` and ``JUDGEMENT`` (empty unless the case, or
a modelled behaviour that differs from the current kernel, is a judgement
call), and where the call site was last read in a current kernel:
``CHECKED_IN`` (the kernel version) and ``CHECKED`` (each file read there,
with the functions read in it; no functions: the file is gone in that
version). ``call_sites()`` reads and validates them; ``drivers_table()``
renders docs/drivers.md from them.
"""

from __future__ import annotations

import argparse
import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .._tools.checkout import ROOT, require_checkout
from .._tools.run import load_example

__all__ = ["CallSite", "call_sites", "drivers_table", "add_drivers_parser", "DRIVERS", "TABLE"]

DRIVERS: Final = ROOT / "examples" / "drivers"
TABLE: Final = ROOT / "docs" / "drivers.md"

#: The API each case takes (pin_user_pages.rst): a pin for data access, a
#: plain reference for struct-page-only code.
CASE_APIS: Final = {
    1: {"pin", "bvec"},
    2: {"pin+FOLL_LONGTERM"},
    3: {"plain reference"},
    4: {"plain reference"},
    5: {"pin", "pin+FOLL_LONGTERM", "bvec"},
}
CONTAINERS: Final = {"single page", "array", "scatterlist", "bvec", "pagevec"}
KERNEL_VERSION: Final = re.compile(r"v\d+\.\d+(\.\d+)?")
#: The kernel source each ``CHECKED_IN`` version was read in.
KERNEL_SOURCES: Final = {"v6.12.117": "Debian's linux-source-6.12 package, 6.12.117-1~deb12u1"}


@dataclass(frozen=True)
class CallSite:
    module: str
    subsystem: str
    kernel_files: tuple[str, ...]
    functions: tuple[str, ...]
    case: int
    api: str
    container: str
    release: str
    judgement: str
    checked_in: str
    checked: tuple[tuple[str, tuple[str, ...]], ...]
    loc: int

    @property
    def gone(self) -> bool:
        """No file of the call site is left in the kernel it was checked in."""
        return not any(functions for _, functions in self.checked)


def _loc(path: Path) -> int:
    """Lines of code: not blank, not a comment, not the module docstring."""
    text = path.read_text()
    tree = ast.parse(text)
    docstring_end = (tree.body[0].end_lineno or 0) if ast.get_docstring(tree) is not None else 0
    lines = text.splitlines()[docstring_end:]
    return sum(1 for line in lines if line.strip() and not line.lstrip().startswith("#"))


def _site(path: Path) -> CallSite:
    m: Any = load_example(path)
    site = CallSite(path.stem, m.SUBSYSTEM, m.KERNEL_FILES, m.FUNCTIONS, m.CASE, m.API, m.CONTAINER,
                    m.RELEASE, m.JUDGEMENT, m.CHECKED_IN, tuple(m.CHECKED.items()), _loc(path))  # fmt: skip
    if site.api not in CASE_APIS.get(site.case, ()):
        raise ValueError(f"{path.name}: case {site.case} does not take API {site.api!r}")
    if site.container not in CONTAINERS:
        raise ValueError(f"{path.name}: unknown container {site.container!r}")
    if not (site.kernel_files and site.functions and site.release):
        raise ValueError(f"{path.name}: names no kernel file, function or release")
    if not (KERNEL_VERSION.fullmatch(site.checked_in) and site.checked):
        raise ValueError(f"{path.name}: says no kernel version (vX.Y[.Z]) and file it was checked in")
    if site.checked_in not in KERNEL_SOURCES:
        raise ValueError(f"{path.name}: checked in {site.checked_in}, a kernel with no source in KERNEL_SOURCES")
    return site


def call_sites() -> list[CallSite]:
    """Every modelled call site, by subsystem."""
    sites = [_site(p) for p in sorted(DRIVERS.glob("[!_]*.py"))]
    return sorted(sites, key=lambda s: (s.subsystem, s.module))


def drivers_table(sites: list[CallSite]) -> str:
    """docs/drivers.md: one row per module, then the counts per case and API."""
    api_itself = load_example(DRIVERS / "__init__.py").API_ITSELF
    rows = [
        f"| {s.subsystem} | {'<br>'.join(f'`{f}`' for f in s.kernel_files)} | {s.case}{' (J)' if s.judgement else ''} "
        f"| {s.api} | {s.container} | `{s.release}` | {s.checked_in}{' (gone)' if s.gone else ''} | {s.loc} "
        f"| [{s.module}](../examples/drivers/{s.module}.py) |"
        for s in sites
    ]
    checked = [
        f"- **{s.module}** ({s.checked_in}): "
        + "; ".join(f"`{f}`: " + (", ".join(f"{fn}()" for fn in fns) if fns else "gone") for f, fns in s.checked)
        for s in sites
    ]
    files = sum(len(s.kernel_files) for s in sites)
    by_case = {c: sum(s.case == c for s in sites) for c in sorted(CASE_APIS)}
    by_api = {a: sum(s.api == a for s in sites) for a in sorted({s.api for s in sites})}
    judged = [f"- **{s.module}** (case {s.case}): {s.judgement}" for s in sites if s.judgement]
    return "\n".join([
        "# The put_user_pages() call sites, modelled",
        "",
        "Generated by `python -m pinapi drivers --write` from the constants of each",
        "module in examples/drivers; do not edit by hand. (J) marks a judgement call.",
        "*checked* is the kernel version each call site was last read in (gone: no",
        "file of it is left there); the files and functions read are listed below.",
        "",
        "| subsystem | kernel file | case | API | container | release | checked | LOC | module |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"{len(sites)} modules model {files} files; the other {len(api_itself)} of the series' "
        f"{files + len(api_itself)} are the API itself ({', '.join(f'`{f}`' for f in api_itself)}).",
        "",
        "Per case: " + ", ".join(f"{c}: {n}" for c, n in by_case.items()) + ".",
        "Per API: " + ", ".join(f"{a}: {n}" for a, n in by_api.items()) + ".",
        "",
        "## Judgement calls",
        "",
        *judged,
        "",
        "## Checked in a current kernel",
        "",
        "Each module's docstring says what the kernel does there now, read in "
        + "; ".join(f"{v} ({src})" for v, src in KERNEL_SOURCES.items() if any(s.checked_in == v for s in sites))
        + ". Where it differs from the model, the module's judgement call says so.",
        "",
        *checked,
        "",
    ])


def _cmd_drivers(args: argparse.Namespace) -> int:
    require_checkout("the examples/drivers/ corpus")
    table = drivers_table(call_sites())
    if args.check:
        if TABLE.read_text() != table:
            print(f"{TABLE} is stale: run python -m pinapi drivers --write")
            return 1
        return 0
    if args.write:
        TABLE.write_text(table)
    else:
        print(table, end="")
    return 0


def add_drivers_parser(sub: Any) -> None:
    p = sub.add_parser("drivers", help="print the table of the modelled call sites (docs/drivers.md)",
                       description="Print docs/drivers.md as the modules of examples/drivers make it: one row "
                                   "per modelled call site of the 2019 put_user_pages() series.")  # fmt: skip
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write it to docs/drivers.md instead")
    mode.add_argument("--check", action="store_true", help="exit 1 if docs/drivers.md differs from it")
    p.set_defaults(func=_cmd_drivers)
