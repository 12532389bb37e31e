"""The package's layering, enforced: every import in pinapi/ is parsed, a
module imports at run time only from layers below it, the run-time import
graph has no cycle, and imports under ``TYPE_CHECKING`` (forward
declarations) stay inside the model. The public faces export exactly the
contract."""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import pinapi
from pinapi import lowlevel

PACKAGE = Path(pinapi.__file__).resolve().parent
STUB = PACKAGE.parent / "stubs" / "pinapi" / "__init__.pyi"

#: Bottom up. A module may import at run time only modules of earlier entries.
LAYERS: list[list[str]] = [
    ["_mm.errors"],
    ["_mm.validate"],
    ["_mm.page_alloc"],
    ["_mm.gup_cost"],
    ["_mm.pin_tracking"],
    ["_mm.swapfile"],
    ["_mm.pgtable"],
    ["_mm.filemap"],
    ["_mm.mm_types"],
    ["_mm.memory"],
    ["_mm.fs"],
    ["_mm.rmap"],
    ["_mm.migrate", "_mm.huge_memory"],
    ["_mm.gup"],
    ["_mm.page_writeback", "_mm.vmscan", "_mm.debug"],
    ["_mm.mmap"],
    ["_mm.kthread"],
    ["_mm"],
    ["_handle"],
    ["_pin"],
    ["_bvec"],
    ["_highmem"],
    ["_legacy"],
    ["_sg"],
    ["", "lowlevel"],
    ["_tools", "_tools.checkout", "_tools.balance", "_tools.report"],
    ["_tools.check"],
    ["_tools.run", "_tools.bench", "pytest_plugin"],
    ["_lab", "_lab.race", "_lab.evidence", "_lab.checker_table", "_lab.drivers_table", "_lab.c_contract",
     "_lab.blocks", "_lab.svg"],
    ["_lab.bench_report"],
    ["_lab.review"],
    ["__main__"],
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> tuple[set[str], set[str]]:
    """(run-time imports, TYPE_CHECKING imports) of pinapi modules, as names
    relative to the package."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    declared: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            declared |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    runtime: set[str] = set()
    typing_only: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - node.level + 1]
                mod = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and (node.module == "pinapi" or node.module.startswith("pinapi.")):
                mod = node.module.removeprefix("pinapi").removeprefix(".")
            else:
                continue
            # "from . import x" / "from pinapi import lowlevel" import a submodule
            subs = [f"{mod}.{a.name}".strip(".") for a in node.names if f"{mod}.{a.name}".strip(".") in RANK]
            targets = subs or [mod]
        elif isinstance(node, ast.Import):
            targets = [a.name.removeprefix("pinapi").removeprefix(".") for a in node.names
                       if a.name == "pinapi" or a.name.startswith("pinapi.")]  # fmt: skip
        for t in targets:
            (typing_only if id(node) in declared else runtime).add(t)
    runtime.discard(name)
    return runtime, typing_only


GRAPH = {module_name(p): imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_has_a_layer() -> None:
    assert set(GRAPH) == set(RANK), "add new modules to LAYERS"


def test_run_time_imports_go_down() -> None:
    upward = [
        f"{mod} imports {dep}"
        for mod, (runtime, _) in GRAPH.items()
        for dep in runtime
        if RANK[dep] >= RANK[mod] and not mod.startswith(dep + ".") and dep != ""
    ]
    assert upward == []


def test_the_model_never_imports_the_api_or_the_tools() -> None:
    for mod, (runtime, typing_only) in GRAPH.items():
        if mod.startswith("_mm"):
            assert {d for d in runtime | typing_only if not d.startswith("_mm")} == set(), mod


def test_forward_declarations_stay_in_the_model() -> None:
    for mod, (_, typing_only) in GRAPH.items():
        assert all(mod.startswith("_mm.") and d.startswith("_mm.") for d in typing_only), mod


def test_no_import_cycle() -> None:
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(mod: str, path: list[str]) -> None:
        state[mod] = 1
        for dep in GRAPH[mod][0]:
            if dep not in GRAPH or mod.startswith(dep + "."):
                continue  # a submodule's parent package is initialised first, not imported back
            if state.get(dep) == 1:
                cycles.append([*path[path.index(dep):], dep] if dep in path else [mod, dep])
            elif dep not in state:
                visit(dep, [*path, dep])
        state[mod] = 2

    for mod in GRAPH:
        if mod not in state:
            visit(mod, [mod])
    assert cycles == []


def stub_names() -> set[str]:
    """The contract's run-time names: public, not ``@type_check_only``."""
    names: set[str] = set()
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            if any(ast.unparse(d) == "type_check_only" for d in node.decorator_list):
                continue
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return {n for n in names if not n.startswith("_")}


def test_pinapi_exports_exactly_the_contract() -> None:
    assert set(pinapi.__all__) == stub_names()
    public = {n for n, v in vars(pinapi).items() if n[0] not in "_@" and not isinstance(v, ModuleType)}
    assert public == set(pinapi.__all__)


def test_contract_classes_and_functions_report_module_pinapi() -> None:
    for name in pinapi.__all__:
        obj = getattr(pinapi, name)
        if callable(obj):
            assert obj.__module__ == "pinapi", name


def test_lowlevel_holds_no_contract_name() -> None:
    assert set(lowlevel.__all__).isdisjoint(pinapi.__all__)
    assert {"FOLL_PIN", "FOLL_GET", "vmstat", "pin_ledger", "use_tracking", "migrate_folio"} <= set(lowlevel.__all__)
