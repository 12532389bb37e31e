"""Static pin balance: every handle the contract hands out is released exactly
once on every path of the function that took it, or handed on.

Per function, a control-flow graph from ``ast``: a node per statement, edges
for ``if``/``else``, ``while``/``for`` and their ``else``, ``break``,
``continue``, ``return``, ``raise``, ``match``, a copy of each ``finally`` body
(and of each ``with`` exit) on every path that leaves it, and an exceptional
edge into the handlers from each statement whose calls can fail. Over it, a
may-analysis: each handle, named by the variable bound at the call that took
it, has a set of states on each path (held, partly released, released,
handed on, none). Rules:

- ``pin-leaked``: a path leaves the function (reported at the ``return`` or
  ``raise``, or at the function's last line when it falls off the end), drops
  the last reference, or ends an iteration of a loop that releases its
  elements, with the handle still held;
- ``pin-released-twice``: a release reaches a handle released on some path;
- ``pin-used-after-release``: data access, a struct-page call or a member of
  an element (``pinned``, the liveness query, excepted) after a release on
  some path;
- ``pin-unknown`` (``strict`` only): a held handle passed to a call the
  analysis cannot see into; without ``strict`` such a call is assumed to take
  the handle, so it is never a leak.

Handing on is not a leak: ``return``, ``yield``, a store into an attribute, a
subscript, a container that is not a local, a ``global`` or ``nonlocal``
name, a closure, ``with`` (released on exit), ``ExitStack.enter_context()``
and ``.callback()``, a release in ``finally``, a call that takes ownership.

The contract is read from its stub (``pinapi-stubs``): an acquisition returns
a handle class and takes none; the handle classes are those the release calls
take, the sequences of them and their elements; a call whose result shares a
type variable with an argument carries that argument's handles (``sg_page()``,
``sg_alloc_table_from_pages()``), one that stores a type-variable argument
into another hands it on (``sg_set_page()``); other calls taking a handle use
it. A release call is one with a parameter marked owned (below), or, while
the stub marks none, one of ``RELEASE_CALLS``. Only acquisitions and calls
that return a value can fail; the release, struct-page and scatterlist calls
are void in the kernel.

Ownership across calls: a summary of each function in the checked files,
computed before its callers: a parameter typed with a handle class (or
untyped) that is released on every return path is released by the call, one
released or handed on on every return path is taken by it, one whose data is
touched is used; a function whose return value holds a handle it took hands
out a new handle; the element of a parameter at an index parameter
(``pins[i]``) released on every return path is released by the call at the
index it is given. A parameter annotated ``Annotated[T, "pinapi.owned"]`` (or
with an alias of that, ``Owned[T]``) is taken by the call whatever the body
does, and the body must then release or hand it on on every path.

Partial results: a loop that releases each element of a handle (``for p in
pages: put_page(p)``, ``put_page(pages[i])`` indexed by its variable, or a
call releasing the element at an index given *i* of ``for i in
range(len(pages))`` or ``enumerate(pages)``) releases the handle when it runs
out; a ``break`` out of it leaves part held.
On the branch where a handle tests empty or None (``if not pages:``, ``if
page is None:``) nothing is held. On the exceptional edge of the call that
takes a handle, nothing is held yet.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Final, Literal

__all__ = ["Finding", "Contract", "CFG", "RULES", "analyze_source", "analyze_paths", "build_cfg"]

#: Each rule's id and what it says.
RULES: Final = {
    "pin-leaked": "a pin, bvec or plain reference leaves the function on some path neither released nor handed on",
    "pin-released-twice": "on some path the same handle reaches a release call twice",
    "pin-used-after-release": "a handle's data or struct page is used after its release on some path",
    "pin-unknown": "a handle is passed to a call the analysis cannot see into (--strict-balance)",
}

#: The metadata string of ``Annotated[T, "pinapi.owned"]``: the callee takes the handle.
OWNED: Final = "pinapi.owned"

#: The release calls while the stub marks no parameter owned: no signature can
#: say that a call ends a handle's life.
RELEASE_CALLS: Final = (
    "unpin_user_page", "unpin_user_pages", "unpin_user_pages_dirty_lock", "vaddr_unpin_pages_dirty_lock",
    "put_user_bvec", "put_page", "release_pages",
)  # fmt: skip

#: Calls that take one more reference on a handle the caller holds: its count
#: is then more than the analysis follows, so the handle is no longer tracked.
REFERENCE_CALLS: Final = ("get_page",)

#: The element member that says whether the pin is still live: valid after release.
LIVENESS: Final = "pinned"

#: How a handle of each contract class is named in a report.
_WORDS: Final = {
    "PinnedPages": "the pins", "PinnedPage": "the pin", "PinnedBvec": "the bvec",
    "Page": "the page reference", "KernelPage": "the kernel page",
}  # fmt: skip

#: Container methods that store their arguments in the receiver.
_STORES: Final = frozenset({
    "append", "extend", "insert", "add", "update", "appendleft", "extendleft", "setdefault", "put",
    "put_nowait", "enter_context", "enter_async_context", "callback", "push", "push_async_callback",
    "push_async_exit",
})  # fmt: skip

#: Builtins whose result holds the handles of their arguments; every other builtin borrows.
_CARRIERS: Final = frozenset({"list", "tuple", "set", "frozenset", "sorted", "reversed", "iter", "next",
                              "enumerate", "zip", "filter", "map", "dict"})  # fmt: skip
_BUILTINS: Final = frozenset(dir(builtins))
#: Container methods that take elements out, view or copy all, or clear; like _STORES, they cannot fail.
_VIEWS: Final = frozenset({"copy", "values", "items"})
_KEEPS: Final = frozenset({"pop", "popleft", "popitem", "clear"}) | _VIEWS
_CONTAINER_CALLS: Final = frozenset({"list", "dict", "set", "deque", "defaultdict", "OrderedDict"})


@dataclass(frozen=True)
class Finding:
    """One balance report: where, which rule, and the path that breaks it."""

    path: str
    line: int
    col: int
    rule: str
    message: str


# -- the contract ------------------------------------------------------------------


def _heads(expr: ast.expr | None, classes: Mapping[str, object]) -> set[str]:
    """The contract classes an annotation is about: a subscripted contract
    class counts, its type arguments (a pin's permission) do not."""
    if isinstance(expr, ast.Subscript):
        base = _names(expr.value) & classes.keys()
        return base or _heads(expr.slice, classes)
    if isinstance(expr, ast.BinOp):
        return _heads(expr.left, classes) | _heads(expr.right, classes)
    if isinstance(expr, ast.Tuple):
        return set[str]().union(*(_heads(e, classes) for e in expr.elts))
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        try:
            return _heads(ast.parse(expr.value, mode="eval").body, classes)
        except SyntaxError:
            return set()
    return _names(expr) & classes.keys()


def _names(expr: ast.expr | None) -> set[str]:
    """Every name an annotation mentions, string annotations parsed."""
    out: set[str] = set()
    for node in ast.walk(expr) if expr is not None else ():
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            try:
                out |= _names(ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                pass
    return out


def _owned(expr: ast.expr | None, aliases: Iterable[str] = ("Owned",)) -> bool:
    """``Annotated[T, "pinapi.owned"]``, or ``A[T]`` with *A* an alias of it."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        try:
            expr = ast.parse(expr.value, mode="eval").body
        except SyntaxError:
            return False
    if not isinstance(expr, ast.Subscript):
        return False
    head = expr.value.attr if isinstance(expr.value, ast.Attribute) else getattr(expr.value, "id", "")
    if head in aliases:
        return True
    args = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
    return head == "Annotated" and any(isinstance(a, ast.Constant) and a.value == OWNED for a in args[1:])


def _owned_aliases(tree: ast.Module) -> set[str]:
    """Module-level names bound to ``Annotated[T, "pinapi.owned"]``."""
    out = {"Owned"}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            target, value = node.target.id, node.value
        else:
            continue
        if _owned(value, ()):
            out.add(target)
    return out


def _params(f: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    a = f.args
    return [*a.posonlyargs, *a.args, *a.kwonlyargs]


@dataclass(frozen=True)
class Acquire:
    """A call that hands out a handle of class *cls*: a sequence of pages when
    *batch*; *count* is the index of its ``nr_pages`` parameter (one page makes
    a single handle)."""

    cls: str
    batch: bool
    count: int | None


@dataclass(frozen=True)
class Contract:
    """What the analysis needs of the pin contract, read from its stub."""

    params: Mapping[str, tuple[str, ...]]
    acquire: Mapping[str, Acquire]
    release: Mapping[str, tuple[int, frozenset[str]]]
    reference: Mapping[str, int]
    carry: Mapping[str, tuple[tuple[int, ...], bool]]
    store: Mapping[str, tuple[int, int]]
    use: Mapping[str, tuple[int, ...]]
    void: frozenset[str]
    classes: frozenset[str]
    handles: frozenset[str]
    batches: frozenset[str]
    members: frozenset[str]
    elements: Mapping[str, str]

    @classmethod
    def parse(cls, text: str) -> Contract:
        """The contract a stub's text declares."""
        tree = ast.parse(text)
        classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        funcs: dict[str, ast.FunctionDef] = {}
        for n in tree.body:
            if isinstance(n, ast.FunctionDef):
                funcs.setdefault(n.name, n)
        typevars: dict[str, set[str]] = {}
        for n in tree.body:
            if (isinstance(n, ast.Assign) and isinstance(n.value, ast.Call) and _names(n.value.func) == {"TypeVar"}
                    and isinstance(n.targets[0], ast.Name)):  # fmt: skip
                typevars[n.targets[0].id] = set().union(*map(_names, n.value.args[1:]), *(
                    _names(k.value) for k in n.value.keywords if k.arg == "bound"))
        aliases = _owned_aliases(tree)

        def handle_param(f: ast.FunctionDef) -> int:
            marked = [i for i, a in enumerate(_params(f)) if _owned(a.annotation, aliases)]
            typed = [i for i, a in enumerate(_params(f)) if _names(a.annotation) & classes.keys()]
            return (marked or typed or [0])[0]

        marked = {n: handle_param(f) for n, f in funcs.items()
                  if any(_owned(a.annotation, aliases) for a in _params(f))}  # fmt: skip
        release = marked or {n: handle_param(funcs[n]) for n in RELEASE_CALLS if n in funcs}
        reference = {n: handle_param(funcs[n]) for n in REFERENCE_CALLS if n in funcs}
        handles = set[str]().union(*(_heads(_params(funcs[n])[i].annotation, classes) for n, i in release.items()))
        batches: set[str] = set()
        elements: dict[str, str] = {}
        grew = True
        while grew:
            grew = False
            for name, node in classes.items():
                for base in node.bases:
                    inner = _names(base.slice) & classes.keys() if isinstance(base, ast.Subscript) else set[str]()
                    if inner and (name in handles or inner & handles) and not (name in batches and inner <= handles):
                        handles |= {name, *inner}
                        batches.add(name)
                        elements[name] = min(inner)
                        grew = True
        handle_vars = {v for v, bound in typevars.items() if bound & handles}
        acquire: dict[str, Acquire] = {}
        carry: dict[str, tuple[tuple[int, ...], bool]] = {}
        store: dict[str, tuple[int, int]] = {}
        use: dict[str, tuple[int, ...]] = {}
        for name, f in funcs.items():
            if name in release or name in reference:
                continue
            args = _params(f)
            direct = tuple(i for i, a in enumerate(args) if _heads(a.annotation, classes) & handles)
            generic = tuple(i for i, a in enumerate(args) if _names(a.annotation) & handle_vars)
            returned = _heads(f.returns, classes)
            if returned & handles and not direct and not generic:
                (kind,) = sorted(returned & handles)[:1]
                count = next((i for i, a in enumerate(args) if a.arg == "nr_pages"), None)
                acquire[name] = Acquire(kind, kind in batches or isinstance(f.returns, ast.Subscript), count)
            if direct:
                use[name] = direct
                if returned & handles:
                    carry[name] = (direct, True)
            if generic and _names(f.returns) & handle_vars:
                carry[name] = (generic, isinstance(f.returns, ast.Subscript))
            elif generic:
                bare = [i for i in generic if isinstance(args[i].annotation, ast.Name)]
                holders = [i for i in generic if isinstance(args[i].annotation, ast.Subscript)]
                if bare and holders:
                    store[name] = (bare[0], holders[0])
        members = {m.name for c in handles - batches for m in classes[c].body
                   if isinstance(m, ast.FunctionDef) and not m.name.startswith("_")} - {LIVENESS}  # fmt: skip
        void = frozenset(n for n, f in funcs.items() if isinstance(f.returns, ast.Constant) and f.returns.value is None)
        return cls(
            params={n: tuple(a.arg for a in _params(f)) for n, f in funcs.items()}, acquire=acquire,
            release={n: (i, frozenset(_heads(_params(funcs[n])[i].annotation, classes) & handles)) for n, i in release.items()},
            reference=reference, carry=carry, store=store, use=use, void=void, classes=frozenset(classes),
            handles=frozenset(handles), batches=frozenset(batches), members=frozenset(members), elements=elements,
        )  # fmt: skip

    @staticmethod
    def stub() -> Path:
        """The contract's stub: ``stubs/pinapi`` beside a source tree, else the
        installed ``pinapi-stubs`` package."""
        tree = Path(__file__).resolve().parents[2] / "stubs" / "pinapi" / "__init__.pyi"
        if tree.is_file():
            return tree
        spec = importlib.util.find_spec("pinapi-stubs")
        for location in (spec.submodule_search_locations or []) if spec else []:
            if (Path(location) / "__init__.pyi").is_file():
                return Path(location) / "__init__.pyi"
        raise FileNotFoundError("the pin contract is not installed: no pinapi-stubs package")

    @classmethod
    @cache
    def load(cls) -> Contract:
        """The installed contract, read once."""
        return cls.parse(cls.stub().read_text())

    def releases(self, call: str, kinds: frozenset[str]) -> bool:
        """Release *call* takes a handle of one of *kinds* (any, when unknown):
        a call of the wrong kind is a type error, not a release."""
        accepted = self.release[call][1]
        return not kinds or any(k in accepted or self.elements.get(k) in accepted for k in kinds)

    def word(self, kind: str, batch: bool) -> str:
        """How a handle of class *kind* is named: "the pins", "the page references"."""
        word = _WORDS.get(kind, "the handle")
        return word + "s" if batch and kind not in self.batches else word


# -- the control-flow graph --------------------------------------------------------

Kind = Literal["entry", "stmt", "test", "iter", "loop", "with", "unwith", "handler", "case", "sink", "nop"]


@dataclass(frozen=True)
class Edge:
    """*kind*: ``next``, ``true``/``false`` out of a test, ``iter``/``exhaust``
    out of a loop head, ``exc`` into a handler (taken only if the statement
    can fail, with the state from before it)."""

    to: int
    kind: str = "next"


@dataclass(eq=False)
class Node:
    """A statement, or a point of one: a test, a loop head, a ``with`` entry
    or exit, a handler, a ``case``, or an exit of the function (a sink: its
    *label* is how the path leaves, "returns at line 4")."""

    id: int
    kind: Kind
    tree: ast.AST | None
    line: int
    loops: tuple[int, ...]
    label: str = ""
    succ: list[Edge] = field(default_factory=list[Edge])


@dataclass
class CFG:
    """The graph of one function: *heads* are the loop heads, *index* the
    names each loop advances (its target and what its body assigns)."""

    func: ast.FunctionDef | ast.AsyncFunctionDef
    nodes: list[Node]
    heads: set[int]
    index: dict[int, frozenset[str]]

    def edges(self) -> list[tuple[str, str, str]]:
        """Every edge as (source, target, kind), nodes named ``kind@line``."""
        def name(n: Node) -> str:
            return n.label or f"{n.kind}@{n.line}"
        return [(name(n), name(self.nodes[e.to]), e.kind) for n in self.nodes for e in n.succ]


@dataclass(frozen=True)
class _Ctx:
    """Where each way out of a statement goes: *brk*/*cont* for the innermost
    loop, *ret* per ``return``, *rse* for an explicit ``raise`` of a class name
    (None: unknown), *exc* for a failing call known not to be one of *caught*
    (empty: not followed), *cur* the exception a bare ``raise`` re-raises."""

    loops: tuple[int, ...]
    brk: Callable[[], int] | None
    cont: Callable[[], int] | None
    ret: Callable[[ast.Return], int]
    rse: Callable[[str | None, int], list[int]]
    exc: Callable[[frozenset[str]], list[int]]
    cur: str | None = None


def _exc_name(expr: ast.expr | None) -> str | None:
    if isinstance(expr, ast.Call):
        expr = expr.func
    if isinstance(expr, ast.Attribute):
        return expr.attr
    return expr.id if isinstance(expr, ast.Name) else None


def _assigned(body: Iterable[ast.AST]) -> set[str]:
    """Names stored anywhere in *body* (nested scopes excepted)."""
    out: set[str] = set()
    for stmt in body:
        for n in _walk(stmt):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                out.add(n.id)
    return out


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` without descending into nested functions, lambdas and classes."""
    todo = [node]
    while todo:
        n = todo.pop()
        yield n
        for child in ast.iter_child_nodes(n):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                todo.append(child)


class _Builder:
    """Builds the graph backwards: each statement is built knowing its successor."""

    def __init__(self, func: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.func = func
        self.nodes: list[Node] = []
        self.heads: set[int] = set()
        self.index: dict[int, frozenset[str]] = {}

    def build(self) -> CFG:
        raises: dict[int, int] = {}

        def rse(name: str | None, line: int) -> list[int]:
            if line not in raises:
                raises[line] = self.node("sink", None, line, (), f"raises at line {line}")
            return [raises[line]]

        end = self.func.end_lineno or self.func.lineno
        ctx = _Ctx((), None, None, lambda r: self.node("sink", r, r.lineno, (), f"returns at line {r.lineno}"),
                   rse, lambda caught: [])  # fmt: skip
        entry = self.node("entry", self.func, self.func.lineno, ())
        falls_off = self.node("sink", None, end, (), f"returns at its end (line {end})")
        self.link(entry, self.block(self.func.body, falls_off, ctx))
        return CFG(self.func, self.nodes, self.heads, self.index)

    def node(self, kind: Kind, tree: ast.AST | None, line: int, loops: tuple[int, ...], label: str = "") -> int:
        self.nodes.append(Node(len(self.nodes), kind, tree, line, loops, label))
        return len(self.nodes) - 1

    def link(self, a: int, b: int, kind: str = "next") -> None:
        self.nodes[a].succ.append(Edge(b, kind))

    def raising(self, n: int, ctx: _Ctx) -> int:
        """Give *n* its exceptional edges (followed only if it can fail)."""
        for t in ctx.exc(frozenset()):
            self.link(n, t, "exc")
        return n

    def block(self, body: Sequence[ast.stmt], succ: int, ctx: _Ctx) -> int:
        for s in reversed(body):
            succ = self.stmt(s, succ, ctx)
        return succ

    def fan(self, targets: list[int], loops: tuple[int, ...], line: int) -> int:
        n = self.node("nop", None, line, loops)
        for t in targets:
            self.link(n, t)
        return n

    def through(self, ctx: _Ctx, cleanup: Callable[[int], int]) -> _Ctx:
        """*ctx* with every way out running *cleanup* first (one copy per exit)."""
        memo: dict[object, int] = {}

        def via(key: object, target: Callable[[], int]) -> int:
            if key not in memo:
                memo[key] = cleanup(target())
            return memo[key]

        def brk() -> int:
            assert ctx.brk is not None
            return via("break", ctx.brk)

        def cont() -> int:
            assert ctx.cont is not None
            return via("continue", ctx.cont)

        def ret(r: ast.Return) -> int:
            return via(r, lambda: ctx.ret(r))

        def rse(name: str | None, line: int) -> list[int]:
            return [via(("raise", name, line), lambda: self.fan(ctx.rse(name, line), ctx.loops, line))]

        def exc(caught: frozenset[str]) -> list[int]:
            outer = ctx.exc(caught)
            return [via(("exc", caught), lambda: self.fan(outer, ctx.loops, 0))] if outer else []

        return replace(ctx, brk=brk if ctx.brk else None, cont=cont if ctx.cont else None, ret=ret, rse=rse, exc=exc)

    def loop(self, s: ast.stmt, kind: Kind, tree: ast.AST, ctx: _Ctx) -> tuple[int, _Ctx]:
        h = self.node(kind, tree, s.lineno, ())
        self.nodes[h].loops = (*ctx.loops, h)
        self.heads.add(h)
        return h, replace(ctx, loops=self.nodes[h].loops)

    def stmt(self, s: ast.stmt, succ: int, ctx: _Ctx) -> int:
        L = ctx.loops
        if isinstance(s, ast.If):
            t = self.raising(self.node("test", s.test, s.lineno, L), ctx)
            self.link(t, self.block(s.body, succ, ctx), "true")
            self.link(t, self.block(s.orelse, succ, ctx), "false")
            return t
        if isinstance(s, ast.While):
            h, inner = self.loop(s, "test", s.test, ctx)
            self.index[h] = frozenset(_assigned(s.body) | _assigned([s.test]))
            after = succ
            body = self.block(s.body, h, replace(inner, brk=lambda: after, cont=lambda: h))
            self.raising(h, ctx)
            self.link(h, body, "true")
            if not (isinstance(s.test, ast.Constant) and s.test.value):
                self.link(h, self.block(s.orelse, succ, ctx), "exhaust")
            return h
        if isinstance(s, (ast.For, ast.AsyncFor)):
            init = self.raising(self.node("iter", s, s.lineno, L), ctx)
            h, inner = self.loop(s, "loop", s, ctx)
            self.index[h] = frozenset(_assigned([s.target]) | _assigned(s.body))
            after = succ
            self.link(init, h)
            self.link(h, self.block(s.body, h, replace(inner, brk=lambda: after, cont=lambda: h)), "iter")
            self.link(h, self.block(s.orelse, succ, ctx), "exhaust")
            return init
        if isinstance(s, (ast.Break, ast.Continue)):
            n = self.node("nop", s, s.lineno, L)
            way = ctx.brk if isinstance(s, ast.Break) else ctx.cont
            self.link(n, way() if way else succ)
            return n
        if isinstance(s, ast.Return):
            n = self.raising(self.node("stmt", s, s.lineno, L), ctx)
            self.link(n, ctx.ret(s))
            return n
        if isinstance(s, ast.Raise):
            n = self.node("stmt", s, s.lineno, L)
            for t in ctx.rse(_exc_name(s.exc) if s.exc else ctx.cur, s.lineno):
                self.link(n, t)
            return n
        if isinstance(s, (ast.Try, ast.TryStar)):
            return self.try_(s, succ, ctx)
        if isinstance(s, (ast.With, ast.AsyncWith)):
            def unwith(target: int) -> int:
                x = self.node("unwith", s, s.lineno, L)
                self.link(x, target)
                return x
            w = self.raising(self.node("with", s, s.lineno, L), ctx)
            self.link(w, self.block(s.body, unwith(succ), self.through(ctx, unwith)))
            return w
        if isinstance(s, ast.Match):
            return self.match(s, succ, ctx)
        if isinstance(s, ast.Assert):
            t = self.raising(self.node("test", s.test, s.lineno, L), ctx)
            self.link(t, succ, "true")
            return t
        n = self.node("stmt", s, s.lineno, L)
        if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.raising(n, ctx)
        self.link(n, succ)
        return n

    def try_(self, s: ast.Try | ast.TryStar, succ: int, ctx: _Ctx) -> int:
        outer = self.through(ctx, lambda t: self.block(s.finalbody, t, ctx)) if s.finalbody else ctx
        after = self.block(s.finalbody, succ, ctx)
        handlers: list[tuple[int, set[str] | None]] = []
        for h in s.handlers:
            names = None if h.type is None else {n for n in _names(h.type)}
            if names is not None and names & {"Exception", "BaseException"}:
                names = None
            entry = self.node("handler", h, h.lineno, ctx.loops)
            cur = _exc_name(h.type) if isinstance(h.type, (ast.Name, ast.Attribute)) else None
            self.link(entry, self.block(h.body, after, replace(outer, cur=cur)))
            handlers.append((entry, names))
        body_ctx = outer
        if handlers:
            catch_all = any(names is None for _, names in handlers)

            def rse(name: str | None, line: int) -> list[int]:
                caught = catch_all or any(name in names for _, names in handlers if names)
                return [e for e, _ in handlers] + ([] if caught else outer.rse(name, line))

            def exc(caught: frozenset[str]) -> list[int]:
                named = frozenset[str]().union(*(names for _, names in handlers if names))
                return [e for e, names in handlers if names is None or not names <= caught] + (
                    [] if catch_all else outer.exc(caught | named))

            body_ctx = replace(outer, rse=rse, exc=exc)
        orelse = self.block(s.orelse, after, outer)
        return self.block(s.body, orelse, body_ctx)

    def match(self, s: ast.Match, succ: int, ctx: _Ctx) -> int:
        L = ctx.loops
        nxt = succ
        for case in reversed(s.cases):
            c = self.node("case", case, case.pattern.lineno, L)
            body = self.block(case.body, succ, ctx)
            if case.guard is not None:
                g = self.raising(self.node("test", case.guard, case.guard.lineno, L), ctx)
                self.link(g, body, "true")
                self.link(g, nxt, "false")
                body = g
            self.link(c, body, "true")
            irrefutable = isinstance(case.pattern, ast.MatchAs) and case.pattern.pattern is None
            if not irrefutable or case.guard is not None:
                self.link(c, nxt, "false")
            nxt = c
        subject = self.raising(self.node("stmt", s, s.lineno, L), ctx)
        self.link(subject, nxt)
        return subject


def build_cfg(func: ast.FunctionDef | ast.AsyncFunctionDef) -> CFG:
    """The control-flow graph of *func*."""
    return _Builder(func).build()


# -- modules, functions and what a call refers to ---------------------------------


@dataclass(eq=False)
class _Func:
    """A function of a checked module: *qualname* ``f`` or ``Class.method``;
    *receiver* the name of a method's ``self`` (or ``cls``)."""

    module: _Module
    node: ast.FunctionDef | ast.AsyncFunctionDef
    qualname: str
    cls: str | None
    receiver: str | None

    @property
    def params(self) -> list[ast.arg]:
        """The parameters a call binds (the receiver excepted)."""
        args = _params(self.node)
        return args[1:] if self.receiver else args

    @property
    def trivial(self) -> bool:
        """A declaration only: docstring, ``...``, ``pass`` or ``raise NotImplementedError``."""
        return all(isinstance(s, (ast.Pass, ast.Raise))
                   or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) for s in self.node.body)


@dataclass(frozen=True)
class _Callee:
    """What a call refers to: a contract function, a checked function (*func*;
    None while its summary is being computed), a builtin, a method of some
    object (*name* the method), or something unknown."""

    kind: Literal["contract", "user", "builtin", "method", "unknown"]
    name: str
    func: _Func | None = None


_LEN: Final = _Callee("builtin", "len")


class _Module:
    """One checked file: its imports of the contract and of other checked files,
    its functions and classes."""

    def __init__(self, path: str, file: Path | None, tree: ast.Module) -> None:
        self.path = path
        self.file = file
        self.tree = tree
        self.contract: dict[str, str] = {}  # local name -> contract name
        self.contract_modules: set[str] = set()
        self.imported: dict[str, tuple[Path, str]] = {}  # local name -> (file, name there)
        self.modules: dict[str, Path] = {}  # local name -> a checked file imported as a module
        self.typing: set[str] = set()  # names from typing: assert_type(), cast() borrow
        self.funcs: dict[str, _Func] = {}
        self.classes: set[str] = set()
        self.owned = _owned_aliases(tree)
        self._collect(tree.body, None, "")

    def _collect(self, body: list[ast.stmt], cls: str | None, prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                decorators = _names(ast.Tuple(elts=node.decorator_list))
                receiver = None
                if cls is not None and "staticmethod" not in decorators and _params(node)[:1]:
                    receiver = _params(node)[0].arg
                func = _Func(self, node, prefix + node.name, cls, receiver)
                self.funcs.setdefault(func.qualname, func)
                self._collect(node.body, None, f"{func.qualname}.<locals>.")
            elif isinstance(node, ast.ClassDef):
                if not prefix:
                    self.classes.add(node.name)
                self._collect(node.body, node.name, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.If, ast.Try, ast.TryStar, ast.With)):
                self._collect([*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", []),
                               *(s for h in getattr(node, "handlers", []) for s in h.body)], cls, prefix)  # fmt: skip

    def link(self, files: Mapping[Path, _Module], by_name: Mapping[str, Path], contract: Contract) -> None:
        """Resolve this module's imports against the contract and *files*."""
        todo: list[ast.stmt] = list(self.tree.body)
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.If, ast.Try, ast.TryStar)):
                todo += [*node.body, *node.orelse, *getattr(node, "finalbody", []),
                         *(s for h in getattr(node, "handlers", []) for s in h.body)]  # fmt: skip
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == "pinapi":
                        self.contract_modules.add(a.asname or a.name)
                    elif a.asname and a.name in by_name:
                        self.modules[a.asname] = by_name[a.name]
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0 and node.module == "pinapi":
                    if node.names[0].name == "*":
                        self.contract |= {n: n for n in [*contract.params, *contract.classes]}
                    self.contract |= {a.asname or a.name: a.name for a in node.names if a.name != "*"}
                    continue
                if node.level == 0 and node.module in ("typing", "typing_extensions"):
                    self.typing |= {a.asname or a.name for a in node.names}
                    continue
                base = self._resolve(node.level, node.module, by_name)
                for a in node.names:
                    sub = self._resolve(node.level, f"{node.module}.{a.name}" if node.module else a.name, by_name)
                    if sub is not None and sub in files:
                        self.modules[a.asname or a.name] = sub
                    elif base is not None and base in files:
                        self.imported[a.asname or a.name] = (base, a.name)

    def _resolve(self, level: int, dotted: str | None, by_name: Mapping[str, Path]) -> Path | None:
        if not level:
            return by_name.get(dotted or "")
        if self.file is None:
            return None
        base = self.file.parent
        for _ in range(level - 1):
            base = base.parent
        target = base.joinpath(*(dotted or "").split(".")) if dotted else base
        for candidate in (target.with_suffix(".py"), target / "__init__.py"):
            if candidate.is_file():
                return candidate.resolve()
        return None


def _module_names(files: Iterable[Path]) -> dict[str, Path]:
    """Each dotted name a checked file can be imported as (its path's tails);
    a name two files share names neither."""
    seen: dict[str, Path | None] = {}
    for f in files:
        parts = list(f.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        for i in range(len(parts) - 1, -1, -1):
            name = ".".join(parts[i:])
            seen[name] = f if seen.get(name, f) == f else None
    return {name: f for name, f in seen.items() if f is not None}


# -- the dataflow ------------------------------------------------------------------

Token = str | tuple[str, int]
HELD: Final = "held"
PARTIAL: Final = "partial"
HANDED: Final = "handed"
NONE: Final = "none"
_NOTHING: Final[frozenset[Token]] = frozenset({NONE})


def _live(t: Token) -> bool:
    """*t* still holds the handle: held, partly, or while a loop releases its elements."""
    return t == HELD or t == PARTIAL or (isinstance(t, tuple) and t[0] == "consuming")


def _leaking(tokens: Iterable[Token]) -> bool:
    return any(map(_live, tokens))


@dataclass(frozen=True)
class _H:
    """A handle: taken at a call (*site*: line, column, element of an unpacked
    result), a parameter (*param*), or an element of *parent*: the one an
    iteration of loop *loop* is at, or the one at the index parameter *index*."""

    site: tuple[int, int, int] = (0, 0, 0)
    param: str = ""
    loop: int = -1
    parent: _H | None = None
    index: str = ""

    @property
    def root(self) -> _H:
        h = self
        while h.parent is not None:
            h = h.parent
        return h

    def within(self, loop: int) -> bool:
        """An element of an iteration of *loop*, or of one inside it."""
        h = self
        while h.parent is not None:
            if h.loop == loop:
                return True
            h = h.parent
        return False


#: How a value refers to a handle: all of it, a part of it, or as a holder of
#: its pages (an sg table, an sg entry: their own members are not the pages').
WHOLE: Final = "whole"
PART: Final = "part"
HOLDER: Final = "holder"
Ref = tuple[_H, str]
Refs = frozenset[Ref]
EMPTY: Final[Refs] = frozenset()


def _union(refs: Iterable[Refs]) -> Refs:
    return frozenset[Ref]().union(*refs)


def _by_handle(refs: Refs) -> dict[_H, bool]:
    """Each handle *refs* refer to, and whether to all of it."""
    out: dict[_H, bool] = {}
    for h, k in refs:
        out[h] = out.get(h, False) or k != PART
    return out


def _part(refs: Refs) -> Refs:
    return frozenset((h, PART) for h, _ in refs)


@dataclass
class _State:
    """On one program point: what each variable refers to, and each handle's states."""

    env: dict[str, Refs]
    hs: dict[_H, frozenset[Token]]

    def copy(self) -> _State:
        return _State(dict(self.env), dict(self.hs))


def _join(a: _State, b: _State) -> _State:
    env = dict(a.env)
    for k, v in b.env.items():
        env[k] = env.get(k, EMPTY) | v
    return _State(env, {h: a.hs.get(h, _NOTHING) | b.hs.get(h, _NOTHING) for h in a.hs.keys() | b.hs.keys()})


@dataclass
class _Meta:
    """How a root handle is named: *word* ("the pins") from *line*, bound to
    *var*; *source* the checked function that handed it out, if any."""

    line: int
    word: str
    batch: bool
    kinds: frozenset[str] = frozenset()
    var: str = ""
    source: str = ""
    param: bool = False
    owned: bool = False

    def describe(self) -> str:
        if self.param:
            return f"the {'owned ' if self.owned else ''}parameter `{self.var}`"
        where = f"from {self.source}() at line {self.line}" if self.source else f"from line {self.line}"
        return f"{self.word} {where}" + (f" (`{self.var}`)" if self.var else "")


@dataclass(frozen=True)
class _Summary:
    """What a call of a checked function does with the handles it is given:
    parameters (in call order) it *releases* on every return path, *takes*
    (released or handed on on every return path), *uses*; *elements* (P, Q):
    it releases the element of P at the index Q on every return path;
    *returns* names a new handle it hands out (word, batch); *raises*: a call
    of it can fail."""

    params: tuple[str, ...]
    releases: frozenset[str] = frozenset()
    takes: frozenset[str] = frozenset()
    uses: frozenset[str] = frozenset()
    returns: tuple[str, bool] | None = None
    raises: bool = True
    elements: frozenset[tuple[str, str]] = frozenset()


def _single(mod: _Module, ann: ast.expr | None, contract: Contract) -> bool:
    """*ann* names one page (``PinnedPage``, ``Page | None``), not a sequence."""
    if _owned(ann, mod.owned) and isinstance(ann, ast.Subscript):
        ann = ann.slice.elts[0] if isinstance(ann.slice, ast.Tuple) else ann.slice
    named = _contract_names(mod, ann) & contract.handles
    return ann is not None and bool(named) and named <= contract.handles - contract.batches and not any(
        isinstance(n, ast.Subscript) for n in ast.walk(ann))


def _contract_names(mod: _Module, ann: ast.expr | None) -> set[str]:
    """The contract's names an annotation mentions, through the module's imports."""
    out: set[str] = set()
    for n in ast.walk(ann) if ann is not None else ():
        if isinstance(n, ast.Name) and n.id in mod.contract:
            out.add(mod.contract[n.id])
        elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in mod.contract_modules:
            out.add(n.attr)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            try:
                out |= _contract_names(mod, ast.parse(n.value, mode="eval").body)
            except SyntaxError:
                pass
    return out


class _Flow:
    """The analysis of one function: a fixpoint over its graph, rerun while it
    learns which loops release their elements, then one reporting pass."""

    def __init__(self, an: _Analyzer, func: _Func) -> None:
        self.an = an
        self.c = an.contract
        self.func = func
        self.mod = func.module
        self.cfg = build_cfg(func.node)
        body = func.node.body
        self.globals = {n for s in body for x in _walk(s) if isinstance(x, (ast.Global, ast.Nonlocal)) for n in x.names}
        self.containers = {t.id for s in body for x in _walk(s) if isinstance(x, (ast.Assign, ast.AnnAssign))
                           for t in (x.targets if isinstance(x, ast.Assign) else [x.target])
                           if isinstance(t, ast.Name) and x.value is not None and _is_container(x.value)}  # fmt: skip
        self.subjects = {id(case): f"$match{id(m)}" for s in body for m in _walk(s) if isinstance(m, ast.Match)
                         for case in m.cases}  # fmt: skip
        params = {a.arg for a in func.params}
        fixed = params - _assigned(body)
        #: (P, Q): the body subscripts parameter P with parameter Q, which it never rebinds.
        self.indexed = {(x.value.id, x.slice.id) for s in body for x in _walk(s) if isinstance(x, ast.Subscript)
                        and isinstance(x.value, ast.Name) and x.value.id in params
                        and isinstance(x.slice, ast.Name) and x.slice.id in fixed}  # fmt: skip
        self.at_index: set[_H] = set()  # the elements of parameters at an index parameter
        self.meta: dict[_H, _Meta] = {}
        self.consuming: dict[tuple[int, _H], set[str]] = {}
        self.report = False
        self.findings: dict[tuple[int, str, str], Finding] = {}
        self.uses: set[str] = set()
        self.returns: list[_Meta] = []
        self.ends: dict[_H, list[frozenset[Token]]] = {}
        self.raising = False  # some reachable statement can fail
        self.st = _State({}, {})
        self.node = self.cfg.nodes[0]
        self.created: set[_H] = set()
        self.values: dict[int, Refs] = {}  # the value of each call of the node, for its test
        self.renewed: set[_H] = set()  # taken again by the node's call while the last one is held

    # -- driving --------------------------------------------------------------------

    def run(self) -> tuple[list[Finding], _Summary]:
        while True:
            learnt = {k: set(v) for k, v in self.consuming.items()}
            ins = self.fixpoint()
            if learnt == self.consuming:
                break
        self.report = True
        for n, before in ins.items():
            node = self.cfg.nodes[n]
            after = self.transfer(node, before)
            self.raising = self.raising or self.raises(node)
            for e in node.succ:
                self.edge(node, e, before, after)
        return list(self.findings.values()), self.summary()

    def fixpoint(self) -> dict[int, _State]:
        ins = {0: self.initial()}
        work = deque([0])
        while work:
            n = work.popleft()
            node, before = self.cfg.nodes[n], ins[n]
            after = self.transfer(node, before)
            for e in node.succ:
                s = self.edge(node, e, before, after)
                if s is None:
                    continue
                old = ins.get(e.to)
                new = s if old is None else _join(old, s)
                if old is None or new != old:
                    ins[e.to] = new
                    work.append(e.to)
        return ins

    def initial(self) -> _State:
        """Each parameter typed with a handle class, untyped, or marked owned is a held handle."""
        st = _State({}, {})
        for a in self.func.params:
            owned = _owned(a.annotation, self.mod.owned)
            if a.annotation is None or owned or _contract_names(self.mod, a.annotation) & self.c.handles:
                h = _H(param=a.arg)
                st.hs[h] = frozenset({HELD})
                st.env[a.arg] = frozenset({(h, WHOLE)})
                batch = not _single(self.mod, a.annotation, self.c)
                kinds = frozenset(_contract_names(self.mod, a.annotation) & self.c.handles)
                self.meta[h] = _Meta(self.func.node.lineno, "", batch, kinds, a.arg, param=True, owned=owned)
        for p, q in self.indexed:
            if _H(param=p) in st.hs and self.meta[_H(param=p)].batch:
                e = _H(parent=_H(param=p), index=q)
                st.hs[e] = frozenset({HELD})
                self.at_index.add(e)
        return st

    def summary(self) -> _Summary:
        releases: set[str] = set()
        takes: set[str] = set()
        for a in self.func.params:
            ends = self.ends.get(_H(param=a.arg), []) if _H(param=a.arg) in self.meta else []
            if ends and not any(map(_leaking, ends)):
                (takes if any(HANDED in t for t in ends) else releases).add(a.arg)
            elif _owned(a.annotation, self.mod.owned):
                takes.add(a.arg)
        elements = frozenset((e.root.param, e.index) for e in self.at_index if (seen := self.ends.get(e))
                             and not any(_leaking(t) or HANDED in t for t in seen))  # fmt: skip
        returns = None
        if self.returns:
            returns = (self.returns[0].word, not _single(self.mod, self.func.node.returns, self.c))
        return _Summary(tuple(a.arg for a in self.func.params), frozenset(releases), frozenset(takes),
                        frozenset(self.uses), returns, self.raising, elements)  # fmt: skip

    # -- reports ----------------------------------------------------------------------

    def find(self, rule: str, where: ast.AST | Node, message: str) -> None:
        if not self.report:
            return
        line = where.line if isinstance(where, Node) else getattr(where, "lineno", self.node.line)
        col = getattr(where.tree if isinstance(where, Node) else where, "col_offset", 0) + 1
        key = (line, rule, message)
        self.findings.setdefault(key, Finding(self.mod.path, line, col, rule, message))

    def describe(self, h: _H) -> str:
        if h.parent is not None:
            return f"an element of {self.describe(h.parent)}"
        return self.meta[h].describe()

    def batch(self, h: _H) -> bool:
        return h.parent is None and self.meta[h].batch

    def reported(self, h: _H) -> bool:
        """Leaks of *h* are this function's to report: not a borrowed parameter."""
        m = self.meta[h.root]
        return not m.param or m.owned

    # -- nodes ------------------------------------------------------------------------

    def transfer(self, node: Node, before: _State) -> _State:
        self.st, self.node, self.created, self.values, self.renewed = before.copy(), node, set(), {}, set()
        tree = node.tree
        if node.kind == "stmt" and isinstance(tree, ast.stmt):
            self.stmt(tree)
            self.drop()
        elif node.kind == "test" and isinstance(tree, ast.expr):
            self.ev(tree)
        elif node.kind == "iter" and isinstance(tree, (ast.For, ast.AsyncFor)):
            self.iterate(tree, next(e.to for e in node.succ if e.kind == "next"))
        elif node.kind == "with" and isinstance(tree, (ast.With, ast.AsyncWith)):
            for item in tree.items:
                refs = self.ev(item.context_expr)
                key = f"$with{id(tree)}"
                self.st.env[key] = self.st.env.get(key, EMPTY) | refs
                if item.optional_vars is not None:
                    self.assign(item.optional_vars, refs, None)
            self.drop()
        elif node.kind == "unwith":
            for h, _ in self.st.env.pop(f"$with{id(tree)}", EMPTY):
                if h in self.st.hs:
                    self.st.hs[h] = frozenset(("released", node.line) if _live(t) or t == HANDED else t
                                              for t in self.st.hs[h])  # fmt: skip
            self.drop()
        elif node.kind == "handler" and isinstance(tree, ast.ExceptHandler) and tree.name:
            self.st.env[tree.name] = EMPTY
        elif node.kind == "sink":
            self.sink(node)
        return self.st

    def sink(self, node: Node) -> None:
        for h, tokens in self.st.hs.items():
            if h.parent is None and _leaking(tokens) and self.reported(h):
                part = "" if HELD in tokens else "part of "
                self.find("pin-leaked", node,
                          f"{self.func.qualname}() {node.label} with {part}{self.describe(h)} still held")
        if self.report and node.label.startswith("returns"):
            for h in [*(_H(param=a.arg) for a in self.func.params), *self.at_index]:
                self.ends.setdefault(h, []).append(self.st.hs.get(h, _NOTHING))

    def drop(self) -> None:
        """Forget the handles no variable refers to any more: a leak if still held."""
        reach = {h.root for refs in self.st.env.values() for h, _ in refs}
        for h in list(self.st.hs):
            if h.root in reach or h.root.param:
                continue
            tokens = self.st.hs.pop(h)
            if h.parent is None and _leaking(tokens):
                if h in self.created and isinstance(self.node.tree, ast.Expr):
                    self.find("pin-leaked", self.node, f"line {self.node.line} discards {self.describe(h)}: "
                                                       "nothing releases it")  # fmt: skip
                else:
                    self.find("pin-leaked", self.node, f"line {self.node.line} drops the last reference to "
                                                       f"{self.describe(h)}, still held")  # fmt: skip

    def stmt(self, s: ast.stmt) -> None:
        if isinstance(s, ast.Assign):
            (target, *more), value = s.targets, s.value
            if (not more and isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))
                    and len(target.elts) == len(value.elts)
                    and not any(isinstance(e, ast.Starred) for e in [*target.elts, *value.elts])):  # fmt: skip
                for t, r, v in [(t, self.ev(v), v) for t, v in zip(target.elts, value.elts)]:
                    self.assign(t, r, v)
            else:
                refs = self.ev(value)
                for t in s.targets:
                    self.assign(t, refs, value)
        elif isinstance(s, ast.AnnAssign):
            if s.value is not None:
                self.assign(s.target, self.ev(s.value), s.value)
        elif isinstance(s, ast.AugAssign):
            refs = self.ev(s.value)
            t = s.target
            if isinstance(t, ast.Name) and t.id not in self.globals:
                self.st.env[t.id] = self.st.env.get(t.id, EMPTY) | refs
            elif isinstance(t, ast.Subscript):
                self.ev(t.slice)
                self.store(t.value, refs)
            else:
                self.ev(t.value if isinstance(t, ast.Attribute) else None)
                self.hand(refs)
        elif isinstance(s, ast.Return):
            refs = self.ev(s.value)
            if self.report:
                self.returns += [self.meta[h.root] for h, _ in refs
                                 if not h.root.param and _leaking(self.st.hs.get(h, ()))]  # fmt: skip
            self.hand(refs)
        elif isinstance(s, ast.Delete):
            for t in s.targets:
                if isinstance(t, ast.Name):
                    self.st.env.pop(t.id, None)
                else:
                    self.ev(t)
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.escape(s)
            self.st.env[s.name] = EMPTY
        elif isinstance(s, ast.Match):
            self.st.env[f"$match{id(s)}"] = self.ev(s.subject)
        else:
            for child in ast.iter_child_nodes(s):
                if isinstance(child, ast.expr):
                    self.ev(child)

    def assign(self, t: ast.expr, refs: Refs, value: ast.expr | None) -> None:
        st = self.st
        if isinstance(t, ast.Name):
            if t.id in self.globals:
                self.hand(refs)
                return
            old = {h.root for h, _ in st.env.get(t.id, EMPTY)}
            st.env[t.id] = refs
            for h, _ in refs:
                m = self.meta.get(h)
                if m is not None and not m.var:
                    m.var = t.id
                if h in self.renewed and h in old and not any(
                        h in {x for x, _ in v} for k, v in st.env.items() if k != t.id):  # fmt: skip
                    self.find("pin-leaked", self.node, f"line {self.node.line} takes {self.meta[h].word} again "
                                                       f"while `{t.id}` still holds those of the previous iteration")
        elif isinstance(t, (ast.Tuple, ast.List)):
            fresh = [h for h, k in refs if k == WHOLE and h in self.created and h.parent is None]
            if len(t.elts) == 1 and not isinstance(t.elts[0], ast.Starred):
                for h, _ in refs:  # exactly one element: the page is the whole handle
                    m = self.meta.get(h)
                    if m is not None and m.kinds:
                        m.batch, m.word = False, self.c.word(min(m.kinds), False)
                self.assign(t.elts[0], refs, None)
            elif (len(fresh) == len(refs) == 1 and isinstance(value, ast.Call)
                  and not any(isinstance(e, ast.Starred) for e in t.elts)):  # fmt: skip
                (h,) = fresh
                tokens = st.hs.pop(h)
                for i, e in enumerate(t.elts, 1):
                    hi = _H((h.site[0], h.site[1], i))
                    st.hs[hi] = tokens
                    self.meta[hi] = replace(self.meta[h], batch=False, var="")
                    self.created.add(hi)
                    self.assign(e, frozenset({(hi, WHOLE)}), None)
            else:
                for e in t.elts:
                    self.assign(e.value if isinstance(e, ast.Starred) else e, _part(refs), None)
        elif isinstance(t, ast.Starred):
            self.assign(t.value, refs, None)
        elif isinstance(t, ast.Attribute):
            self.ev(t.value)
            self.hand(refs)
        elif isinstance(t, ast.Subscript):
            self.ev(t.slice)
            self.store(t.value, refs)

    def store(self, holder: ast.expr | None, refs: Refs) -> None:
        """*refs* go into *holder*: a local container then refers to them; any
        other object outlives the call, so they are handed on."""
        if isinstance(holder, ast.Name) and holder.id in self.containers:
            self.st.env[holder.id] = self.st.env.get(holder.id, EMPTY) | refs
        else:
            self.ev(holder)
            self.hand(refs)

    def escape(self, tree: ast.AST) -> None:
        """A closure or nested definition captures the handles it names."""
        self.hand(_union(self.st.env.get(n.id, EMPTY) for n in ast.walk(tree) if isinstance(n, ast.Name)))

    # -- loops ------------------------------------------------------------------------

    def iterate(self, s: ast.For | ast.AsyncFor, head: int) -> None:
        """A ``for`` evaluates its iterable once; ``enumerate``/``zip`` keep
        each position's handles apart."""
        it = s.iter
        callee = self.an.resolve(self.func, it.func) if isinstance(it, ast.Call) else None
        if isinstance(it, ast.Call) and callee is not None and callee in (_Callee("builtin", "enumerate"),
                                                                            _Callee("builtin", "zip")):
            args = [self.ev(a) for a in it.args]
            positions = [EMPTY, *args[:1]] if callee.name == "enumerate" else args
            for i, refs in enumerate(positions):
                self.st.env[f"$iter{head}#{i}"] = refs
            self.st.env[f"$iter{head}"] = _union(positions)
        else:
            self.st.env[f"$iter{head}"] = self.ev(it)
        if (indexing := self.indexing(s)) is not None:
            self.st.env[f"$iter{head}#index"] = self.st.env.get(indexing[1], EMPTY)

    def indexing(self, s: ast.For | ast.AsyncFor) -> tuple[str, str] | None:
        """(i, X) of ``for i in range(len(X))`` or ``for i, x in enumerate(X)``,
        X a name and i not rebound in the body: i is each index of X in turn."""
        it, target = s.iter, s.target
        if not isinstance(it, ast.Call) or len(it.args) != 1 or it.keywords:
            return None
        callee = self.an.resolve(self.func, it.func)
        if callee == _Callee("builtin", "range") and isinstance(target, ast.Name):
            seq, i = self.length(it.args[0]), target
        elif (callee == _Callee("builtin", "enumerate") and isinstance(target, ast.Tuple) and len(target.elts) == 2
              and isinstance(target.elts[0], ast.Name)):  # fmt: skip
            seq, i = it.args[0], target.elts[0]
        else:
            return None
        return (i.id, seq.id) if isinstance(seq, ast.Name) and i.id not in _assigned(s.body) else None

    def iteration(self, e: ast.expr | None) -> int | None:
        """The loop *e* is the index of in this iteration: the innermost loop
        advancing the name, if it is an indexing loop of that name."""
        if not isinstance(e, ast.Name):
            return None
        loop = next((L for L in reversed(self.node.loops) if e.id in self.cfg.index[L]), None)
        head = self.cfg.nodes[loop].tree if loop is not None else None
        indexing = self.indexing(head) if isinstance(head, (ast.For, ast.AsyncFor)) else None
        return loop if indexing is not None and indexing[0] == e.id else None

    def element(self, loop: int, h: _H) -> _H:
        """The element of *h* this iteration of *loop* is at, in the states of *h*."""
        if h.within(loop):
            return h
        e = _H(loop=loop, parent=h)
        if e not in self.st.hs:
            self.st.hs[e] = frozenset(HELD if _live(t) else t for t in self.st.hs.get(h, _NOTHING))
        return e

    def bind_iteration(self, head: Node) -> None:
        s = head.tree
        assert isinstance(s, (ast.For, ast.AsyncFor))
        env, L = self.st.env, head.id

        def elements(refs: Refs) -> Refs:
            return frozenset((self.element(L, h), HOLDER if k == HOLDER else WHOLE) for h, k in refs)

        def bind(t: ast.expr, refs: Refs) -> None:
            for n in ast.walk(t):
                if isinstance(n, ast.Name):
                    self.assign(n, refs, None)

        if isinstance(s.target, (ast.Tuple, ast.List)) and f"$iter{L}#0" in env:
            for i, t in enumerate(s.target.elts):
                bind(t, elements(env.get(f"$iter{L}#{i}", EMPTY)))
        else:
            bind(s.target, elements(env.get(f"$iter{L}", EMPTY)))
        self.drop()

    def enter(self, loop: int) -> None:
        """Into *loop* from outside: what it releases element by element is being consumed."""
        for (L, h), _ in self.consuming.items():
            if L == loop and h in self.st.hs:
                self.st.hs[h] = frozenset(("consuming", loop) if t in (HELD, PARTIAL) else t for t in self.st.hs[h])

    def elements_of(self, loop: int) -> list[tuple[_H, frozenset[Token]]]:
        return [(h, self.st.hs.pop(h)) for h in list(self.st.hs) if h.within(loop)]

    def next_iteration(self, loop: int, src: Node) -> None:
        """Back to the head: an element the loop releases must be released by now."""
        for h, tokens in self.elements_of(loop):
            if h.loop == loop and (loop, h.parent) in self.consuming and _leaking(tokens) and self.reported(h):
                self.find("pin-leaked", src, f"an iteration of the loop at line {self.cfg.nodes[loop].line} ends at "
                                             f"line {src.line} with {self.describe(h)} still held")  # fmt: skip

    def leave(self, loop: int, finished: bool) -> None:
        """Out of *loop*: run out, it has released (or handed on) what it
        consumed; left early, part of that is still held."""
        self.elements_of(loop)
        line = self.cfg.nodes[loop].line
        for h, tokens in list(self.st.hs.items()):
            if ("consuming", loop) in tokens:
                done: Token = ("released", line) if self.consuming[(loop, h)] == {"released"} else HANDED
                self.st.hs[h] = frozenset((done if finished else PARTIAL) if t == ("consuming", loop) else t
                                          for t in tokens)  # fmt: skip
                if finished and h.parent is not None:  # an element of an outer loop, released by this one
                    self.consuming.setdefault((h.loop, h.parent), set()).add("released" if done != HANDED else "handed")
        for key in [k for k in self.st.env if k == f"$iter{loop}" or k.startswith(f"$iter{loop}#")]:
            del self.st.env[key]
        self.drop()

    # -- edges ------------------------------------------------------------------------

    def edge(self, src: Node, e: Edge, before: _State, after: _State) -> _State | None:
        self.st = (before if e.kind == "exc" else after).copy()
        if e.kind == "exc" and not self.raises(src):
            return None
        self.node, self.created = src, set()
        dst = self.cfg.nodes[e.to]
        if src.kind == "test" and isinstance(src.tree, ast.expr) and e.kind in ("true", "false", "exhaust"):
            self.refine(src.tree, e.kind == "true")
            self.drop()
        elif src.kind == "case" and e.kind == "true" and isinstance(src.tree, ast.match_case):
            self.case(src.tree)
        if e.kind == "iter":
            self.bind_iteration(src)
        for L in reversed(src.loops):
            if L not in dst.loops:
                self.leave(L, finished=e.kind == "exhaust" and L == src.id)
        if e.to in self.cfg.heads:
            if e.to in src.loops:
                self.next_iteration(e.to, src)
            else:
                self.enter(e.to)
        return self.st

    def raises(self, node: Node) -> bool:
        """The statement at *node* has a call that can fail, or an ``await``
        (in the current state: a method of a handle cannot fail)."""
        tree = node.tree
        exprs: list[ast.AST] = []
        if isinstance(tree, (ast.For, ast.AsyncFor)):
            exprs = [tree.iter]
        elif isinstance(tree, (ast.With, ast.AsyncWith)):
            exprs = [i.context_expr for i in tree.items]
        elif isinstance(tree, ast.Match):
            exprs = [tree.subject]
        elif isinstance(tree, (ast.stmt, ast.expr)) and not isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef)):
            exprs = [tree]
        return any(isinstance(n, (ast.Await, ast.Raise)) or (isinstance(n, ast.Call) and self.can_fail(n))
                   for x in exprs for n in _walk(x))  # fmt: skip

    def can_fail(self, call: ast.Call) -> bool:
        """Only acquisitions and value-returning calls of the contract fail;
        builtins, container methods and the members of a handle do not; a
        checked function fails if its body can; anything else may."""
        callee = self.an.resolve(self.func, call.func)
        if callee.kind == "contract":
            return callee.name in self.c.acquire or not (callee.name in self.c.void or callee.name in self.c.classes)
        if callee.kind == "user":
            s = self.an.summary(callee.func) if callee.func else None
            return s is None or s.raises
        if callee.kind == "method" and isinstance(call.func, ast.Attribute):
            base = call.func.value
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            handle = isinstance(base, ast.Name) and bool(self.st.env.get(base.id))
            return not (handle and callee.name in self.c.members) and callee.name not in _STORES | _KEEPS
        return callee.kind != "builtin"

    def refine(self, test: ast.expr, truth: bool) -> None:
        """On the branch where a handle tests empty or None, nothing is held."""
        if isinstance(test, ast.BoolOp):
            if isinstance(test.op, ast.And) == truth:
                for v in test.values:
                    self.refine(v, truth)
        elif isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            self.refine(test.operand, not truth)
        elif isinstance(test, ast.Compare) and len(test.ops) == 1:
            left, op, right = test.left, test.ops[0], test.comparators[0]
            if isinstance(right, ast.Constant) and right.value is None:
                if truth == isinstance(op, (ast.Is, ast.Eq)):
                    self.empty(left)
            elif isinstance(right, ast.Constant) and right.value in (0, 1) and self.length(left):
                empty_when = {(ast.Eq, 0), (ast.LtE, 0), (ast.Lt, 1)}
                nonempty_when = {(ast.NotEq, 0), (ast.Gt, 0), (ast.GtE, 1)}
                if (type(op), right.value) in (empty_when if truth else nonempty_when):
                    self.empty(left)
        elif not truth:
            self.empty(test)

    def length(self, e: ast.expr) -> ast.expr | None:
        """X of ``len(X)``."""
        if isinstance(e, ast.Call) and len(e.args) == 1 and self.an.resolve(self.func, e.func) == _LEN:
            return e.args[0]
        return None

    def empty(self, e: ast.expr) -> None:
        e = self.length(e) or e
        if isinstance(e, ast.NamedExpr):
            e = e.target
        refs = self.st.env.get(e.id, EMPTY) if isinstance(e, ast.Name) else self.values.get(id(e), EMPTY)
        for h, k in refs:
            if k != PART and h in self.st.hs:
                self.st.hs[h] = _NOTHING

    def case(self, case: ast.match_case) -> None:
        subject = self.st.env.get(self.subjects.get(id(case), ""), EMPTY)
        if isinstance(case.pattern, ast.MatchSingleton) and case.pattern.value is None:
            for h, k in subject:
                if k != PART and h in self.st.hs:
                    self.st.hs[h] = _NOTHING
        for n in ast.walk(case.pattern):
            name = getattr(n, "name", None) if isinstance(n, (ast.MatchAs, ast.MatchStar)) else None
            if isinstance(n, ast.MatchMapping):
                name = n.rest
            if name:
                self.st.env[name] = subject if n is case.pattern else _part(subject)

    # -- handles ----------------------------------------------------------------------

    def new(self, call: ast.Call, word: str, batch: bool, kind: str = "", source: str = "") -> Refs:
        h = _H((call.lineno, call.col_offset, 0))
        if _leaking(self.st.hs.get(h, ())):
            self.renewed.add(h)
        self.st.hs[h] = frozenset({HELD})
        self.meta.setdefault(h, _Meta(call.lineno, word, batch, frozenset({kind} - {""}), source=source))
        self.created.add(h)
        return frozenset({(h, WHOLE)})

    def release(self, refs: Refs, call: ast.Call) -> None:
        line = call.lineno
        for h, whole in _by_handle(refs).items():
            tokens = self.st.hs.get(h)
            if tokens is None:
                continue
            first = sorted(t[1] for t in tokens if isinstance(t, tuple) and t[0] == "released")
            if first:
                self.find("pin-released-twice", call, f"{self.describe(h)} released again at line {line}: "
                                                      f"already released at line {first[0]} on some path")  # fmt: skip
            self.st.hs[h] = frozenset(
                t if not (_live(t) or t == HANDED) else ("released", line) if whole else PARTIAL if t == HELD else t
                for t in tokens)  # fmt: skip
            if whole and h.parent is not None and not h.index:
                self.consuming.setdefault((h.loop, h.parent), set()).add("released")

    def hand(self, refs: Refs) -> None:
        for h, whole in _by_handle(refs).items():
            tokens = self.st.hs.get(h)
            if tokens is None:
                continue
            self.st.hs[h] = frozenset(t if not _live(t) else HANDED if whole else PARTIAL if t == HELD else t
                                      for t in tokens)  # fmt: skip
            if whole and h.parent is not None and not h.index:
                self.consuming.setdefault((h.loop, h.parent), set()).add("handed")

    def use(self, refs: Refs, where: ast.expr, member: bool) -> None:
        """Data access or a struct-page call; a member of a whole sequence
        (its length, its owner) or of a holder is not one."""
        for h, k in refs:
            if member and (k == HOLDER or (k == WHOLE and self.batch(h))):
                continue
            if h.root.param:
                self.uses.add(h.root.param)
            first = sorted(t[1] for t in self.st.hs.get(h, ()) if isinstance(t, tuple) and t[0] == "released")
            if first:
                self.find("pin-used-after-release", where, f"`{_short(where)}` uses {self.describe(h)} after its "
                                                           f"release at line {first[0]} on some path")  # fmt: skip

    def untrack(self, refs: Refs) -> None:
        for h, _ in refs:
            for x in [x for x in self.st.hs if x == h or (x.parent is not None and x.root == h)]:
                del self.st.hs[x]

    # -- expressions --------------------------------------------------------------------

    def ev(self, e: ast.expr | None) -> Refs:
        """The handles *e*'s value refers to, applying what evaluating it does."""
        if e is None:
            return EMPTY
        if isinstance(e, ast.Name):
            return self.st.env.get(e.id, EMPTY)
        if isinstance(e, ast.Call):
            return self.call(e)
        if isinstance(e, ast.Attribute):
            refs = self.ev(e.value)
            if refs and e.attr in self.c.members:
                self.use(refs, e, member=True)
            return EMPTY
        if isinstance(e, ast.Subscript):
            return self.subscript(e)
        if isinstance(e, (ast.List, ast.Tuple, ast.Set)):
            return _union(map(self.ev, e.elts))
        if isinstance(e, ast.Dict):
            return _union([*map(self.ev, e.keys), *map(self.ev, e.values)])
        if isinstance(e, (ast.Starred, ast.Await)):
            return self.ev(e.value)
        if isinstance(e, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            return self.comprehension(e)
        if isinstance(e, ast.BinOp):
            return self.ev(e.left) | self.ev(e.right)
        if isinstance(e, ast.BoolOp):
            return _union(map(self.ev, e.values))
        if isinstance(e, ast.IfExp):
            self.ev(e.test)
            return self.ev(e.body) | self.ev(e.orelse)
        if isinstance(e, ast.NamedExpr):
            refs = self.ev(e.value)
            self.assign(e.target, refs, e.value)
            return refs
        if isinstance(e, ast.Lambda):
            self.escape(e.body)
            return EMPTY
        if isinstance(e, (ast.Yield, ast.YieldFrom)):
            self.hand(self.ev(e.value))
            return EMPTY
        for child in ast.iter_child_nodes(e):
            if isinstance(child, ast.expr):
                self.ev(child)
        return EMPTY

    def subscript(self, e: ast.Subscript) -> Refs:
        """``X[i]``: an element of X, the one of this iteration when *i* is a
        name the enclosing loop advances, the one at *i* when X and *i* are
        parameters; X itself when X is one page."""
        refs = self.ev(e.value)
        self.ev(e.slice)
        loop = None
        if not isinstance(e.slice, ast.Slice):
            named = {n.id for n in ast.walk(e.slice) if isinstance(n, ast.Name)}
            loop = next((L for L in reversed(self.node.loops) if named & self.cfg.index[L]), None)
        out: set[Ref] = set()
        for h, k in refs:
            if loop is not None:
                out.add((self.element(loop, h), WHOLE))
            elif k == WHOLE and isinstance(e.slice, ast.Name) and _H(parent=h, index=e.slice.id) in self.st.hs:
                out.add((_H(parent=h, index=e.slice.id), WHOLE))
            elif not self.batch(h) and h.parent is None and not isinstance(e.slice, ast.Slice):
                out.add((h, k))
            else:
                out.add((h, PART))
        return frozenset(out)

    def comprehension(self, e: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> Refs:
        """The element expression sees each handle iterated as a part; what it
        yields of them, the comprehension holds all of."""
        env = self.st.env
        saved: dict[str, Refs | None] = {}
        iters = EMPTY
        for g in e.generators:
            refs = self.ev(g.iter)
            iters |= refs
            for n in ast.walk(g.target):
                if isinstance(n, ast.Name):
                    saved.setdefault(n.id, env.get(n.id))
                    env[n.id] = _part(refs)
            for cond in g.ifs:
                self.ev(cond)
        out = self.ev(e.key) | self.ev(e.value) if isinstance(e, ast.DictComp) else self.ev(e.elt)
        for name, old in saved.items():
            if old is None:
                env.pop(name, None)
            else:
                env[name] = old
        covered = {h for h, _ in iters}
        return frozenset((h, WHOLE if h in covered else k) for h, k in out)

    def bind(self, names: Sequence[str], call: ast.Call, args: list[Refs],
             kws: list[tuple[str | None, Refs]]) -> dict[int, Refs]:  # fmt: skip
        """Which parameter (by index) each argument's handles reach."""
        out: dict[int, Refs] = {}
        for i, (a, refs) in enumerate(zip(call.args, args)):
            for j in range(i, len(names)) if isinstance(a, ast.Starred) else [i]:
                out[j] = out.get(j, EMPTY) | refs
        for k, refs in kws:
            for j in range(len(names)) if k is None else [names.index(k)] if k in names else []:
                out[j] = out.get(j, EMPTY) | refs
        return out

    def call(self, call: ast.Call) -> Refs:
        self.values[id(call)] = refs = self.invoke(call)
        return refs

    def invoke(self, call: ast.Call) -> Refs:
        callee = self.an.resolve(self.func, call.func)
        recv = EMPTY
        if callee.kind == "method" and isinstance(call.func, ast.Attribute):
            recv = self.ev(call.func.value)
        elif callee.kind == "unknown":
            self.ev(call.func)
        args = [self.ev(a) for a in call.args]
        kws = [(k.arg, self.ev(k.value)) for k in call.keywords]
        every = _union([*args, *(r for _, r in kws)])
        if callee.kind == "contract":
            return self.contract_call(callee.name, call, args, kws)
        if callee.kind == "user":
            s = self.an.summary(callee.func) if callee.func else None
            if s is not None:
                return self.user_call(s, callee.name, call, args, kws)
        if callee.kind == "builtin":
            return every if callee.name in _CARRIERS else EMPTY
        if callee.kind == "method" and isinstance(call.func, ast.Attribute):
            holder, name = call.func.value, callee.name
            if recv and name in self.c.members:
                self.use(recv, call, member=True)
                return EMPTY
            if name in _STORES:
                self.store(holder, every)
                return every if name.startswith("enter_") else EMPTY
            if recv:
                if name == "clear" and isinstance(holder, ast.Name):
                    self.st.env[holder.id] = EMPTY
                return _part(recv) if name in _KEEPS - _VIEWS - {"clear"} else recv if name in _VIEWS else EMPTY
        return self.unknown(call, every)

    def contract_call(self, name: str, call: ast.Call, args: list[Refs], kws: list[tuple[str | None, Refs]]) -> Refs:
        c = self.c
        bound = self.bind(c.params.get(name, ()), call, args, kws)
        if name in c.acquire:
            a = c.acquire[name]
            count = call.args[a.count] if a.count is not None and a.count < len(call.args) else next(
                (k.value for k in call.keywords if k.arg == "nr_pages"), None)
            single = isinstance(count, ast.Constant) and count.value == 1
            return self.new(call, c.word(a.cls, a.batch and not single), a.batch and not single, a.cls)
        if name in c.release:
            refs = bound.get(c.release[name][0], EMPTY)
            if all(c.releases(name, self.meta[h.root].kinds) for h, _ in refs):  # else a type error: nothing released
                self.release(refs, call)
            return EMPTY
        if name in c.reference:
            self.untrack(bound.get(c.reference[name], EMPTY))
            return EMPTY
        for i in c.use.get(name, ()):
            self.use(bound.get(i, EMPTY), call, member=False)
        if name in c.store:
            held, holder = c.store[name]
            self.store(call.args[holder] if holder < len(call.args) else None, bound.get(held, EMPTY))
        params, holder = c.carry.get(name, ((), False))
        return frozenset((h, HOLDER if holder else WHOLE if k == HOLDER else k)
                         for h, k in _union(bound.get(i, EMPTY) for i in params))  # fmt: skip

    def user_call(self, s: _Summary, name: str, call: ast.Call, args: list[Refs],
                  kws: list[tuple[str | None, Refs]]) -> Refs:  # fmt: skip
        bound = self.bind(s.params, call, args, kws)
        for i, p in enumerate(s.params):
            refs = bound.get(i, EMPTY)
            if p in s.releases:
                self.release(refs, call)
            elif p in s.takes:
                self.hand(refs)
            elif p in s.uses:
                self.use(refs, call, member=False)
        for p, q in sorted(s.elements):
            loop = self.iteration(_argument(call, s.params, s.params.index(q)))
            over = {h for h, _ in self.st.env.get(f"$iter{loop}#index", EMPTY)} if loop is not None else set[_H]()
            self.release(frozenset((self.element(loop, h), WHOLE) if loop is not None and h in over and k != PART
                                   else (h, PART) for h, k in bound.get(s.params.index(p), EMPTY)), call)  # fmt: skip
        return self.new(call, *s.returns, source=name) if s.returns else EMPTY

    def unknown(self, call: ast.Call, refs: Refs) -> Refs:
        """A call the analysis cannot see into takes the handles it is given."""
        live = [h for h, _ in refs if _leaking(self.st.hs.get(h, ()))]
        if live and self.an.strict:
            self.find("pin-unknown", call, f"{_short(call.func)}() gets {self.describe(live[0])}, and the analysis "
                                           "cannot see into it: assumed to take it")  # fmt: skip
        self.hand(refs)
        return EMPTY


def _argument(call: ast.Call, names: Sequence[str], j: int) -> ast.expr | None:
    """The expression *call* passes as parameter *j* (named ``names[j]``)."""
    if j < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: j + 1]):
        return call.args[j]
    return next((k.value for k in call.keywords if k.arg == names[j]), None)


def _is_container(e: ast.expr) -> bool:
    """A new local container: a display, a comprehension, or ``list()``-like call."""
    if isinstance(e, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    return isinstance(e, ast.Call) and isinstance(e.func, ast.Name) and e.func.id in _CONTAINER_CALLS


def _short(e: ast.AST) -> str:
    text = ast.unparse(e)
    return text if len(text) <= 60 else text[:57] + "..."


# -- files, summaries, the public calls ------------------------------------------------


class _Analyzer:
    """The checked files: resolves calls, and computes each function's summary
    (with its findings) once, callees first."""

    def __init__(self, contract: Contract, strict: bool) -> None:
        self.contract = contract
        self.strict = strict
        self.modules: dict[Path, _Module] = {}
        self.unfiled: list[_Module] = []
        self.summaries: dict[_Func, _Summary | None] = {}
        self.findings: list[Finding] = []
        self.locals: dict[_Func, set[str]] = {}

    def add(self, source: str, path: str, file: Path | None) -> None:
        try:
            tree = ast.parse(source, path)
        except SyntaxError:
            return  # the type checkers report it
        module = _Module(path, file, tree)
        if file is None:
            self.unfiled.append(module)
        else:
            self.modules[file] = module

    def run(self) -> list[Finding]:
        by_name = _module_names(self.modules)
        for m in [*self.modules.values(), *self.unfiled]:
            m.link(self.modules, by_name, self.contract)
        for m in [*self.modules.values(), *self.unfiled]:
            for f in m.funcs.values():
                self.summary(f)
        return sorted(self.findings, key=lambda f: (f.path, f.line, f.col, f.rule))

    def summary(self, func: _Func) -> _Summary | None:
        """*func*'s summary; None while it is being computed (a recursive call)."""
        if func in self.summaries:
            return self.summaries[func]
        self.summaries[func] = None
        if func.trivial:
            marked = frozenset(a.arg for a in func.params if _owned(a.annotation, func.module.owned))
            s = _Summary(tuple(a.arg for a in func.params), takes=marked)
        else:
            findings, s = _Flow(self, func).run()
            self.findings += findings
        self.summaries[func] = s
        return s

    def resolve(self, func: _Func, e: ast.expr) -> _Callee:
        m = func.module
        if isinstance(e, ast.Name):
            n = e.id
            if func not in self.locals:
                self.locals[func] = {a.arg for a in _params(func.node)} | _assigned(func.node.body)
            nested = m.funcs.get(f"{func.qualname}.<locals>.{n}")
            if nested is not None:
                return _Callee("user", n, self.ready(nested))
            if n in self.locals[func]:
                return _Callee("unknown", n)
            if n in m.contract:
                return _Callee("contract", m.contract[n])
            if n in m.imported:
                file, name = m.imported[n]
                return self.defined(self.modules[file], name)
            if n in m.funcs or n in m.classes:
                return self.defined(m, n)
            return _Callee("builtin" if n in _BUILTINS or n in m.typing else "unknown", n)
        if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name):
            v = e.value.id
            if v in m.contract_modules:
                return _Callee("contract", e.attr)
            if v in m.modules:
                return self.defined(self.modules[m.modules[v]], e.attr)
            method = m.funcs.get(f"{func.cls}.{e.attr}") if v == func.receiver else None
            if method is not None:
                return _Callee("user", e.attr, self.ready(method))
        if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Constant):
            return _Callee("builtin", e.attr)  # b"".join(), "{}".format(): str and bytes methods borrow
        if isinstance(e, ast.Attribute):
            return _Callee("method", e.attr)
        return _Callee("unknown", "")

    def defined(self, m: _Module, name: str) -> _Callee:
        """*name* as *m* defines it: a function, or a class (its ``__init__``)."""
        func = m.funcs.get(f"{name}.__init__" if name in m.classes else name)
        return _Callee("user", name, self.ready(func)) if func is not None else _Callee("unknown", name)

    def ready(self, func: _Func) -> _Func | None:
        """*func*, unless its summary is being computed."""
        return None if func in self.summaries and self.summaries[func] is None else func


def _sources(paths: Sequence[Path]) -> Iterator[Path]:
    for p in paths:
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*.py") if not any(part.startswith(".") or part == "__pycache__"
                                                                    for part in f.relative_to(p).parts))  # fmt: skip
        else:
            yield p


def analyze_paths(paths: Sequence[Path], *, strict: bool = False) -> list[Finding]:
    """Balance findings over every ``*.py`` under *paths*, analysed together:
    a call into another of the files uses that function's summary."""
    an = _Analyzer(Contract.load(), strict)
    for f in _sources(paths):
        an.add(f.read_text(), str(f), f.resolve())
    return an.run()


def analyze_source(source: str, path: str, *, strict: bool = False) -> list[Finding]:
    """Balance findings of one module's *source*, reported under *path*."""
    an = _Analyzer(Contract.load(), strict)
    an.add(source, path, None)
    return an.run()
