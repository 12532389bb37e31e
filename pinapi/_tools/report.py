"""What ``pinapi check`` found, and the formats it prints it in.

A ``Finding`` is one problem at one place: a pin rule broken (``rule`` is its
id, ``pin-...``) or an ordinary type error (``rule`` is ``TYPE_ERROR``), which
is reported and counted apart and never fails a check. Every analysis gives a
``Report``; the command combines them and prints one, in a format of
``FORMATS``:

    text     ``file:line:col: error: <message> [<rule-id>]``, then one note
             per tool that flagged it (what it said), as mypy prints notes
    json     one object: the findings, the type errors, the counts
    sarif    SARIF 2.1.0, for code-scanning UIs
    github   GitHub Actions workflow commands: an annotation per finding

Exit status (``Report.status``): 1 when there is a pin-rule finding, else 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

__all__ = ["TYPE_ERROR", "Diagnostic", "Finding", "Report", "FORMATS", "display_path", "pinapi_version"]

#: The rule id of a type error that breaks no pin rule.
TYPE_ERROR: Final = "type-error"

SARIF_SCHEMA: Final = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def pinapi_version() -> str:
    """The installed distribution's version; a bare source tree has none."""
    try:
        return version("pinapi")
    except PackageNotFoundError:
        return "0+source"


def display_path(path: str) -> str:
    """*path* relative to the current directory when under it, else absolute:
    one spelling per file whichever tool reported it."""
    absolute = Path(path).resolve()
    return str(absolute.relative_to(Path.cwd())) if absolute.is_relative_to(Path.cwd()) else str(absolute)


@dataclass(frozen=True)
class Diagnostic:
    """One error as one tool reported it (columns count from 1)."""

    tool: str
    path: str
    line: int
    col: int
    code: str
    message: str


@dataclass(frozen=True)
class Finding:
    """One problem at one place; *also* the other lines reported as the same
    problem, *tools* each tool that reported it (once), *diagnostics* what
    each said."""

    path: str
    line: int
    col: int
    rule: str
    message: str
    fix: str = ""
    tools: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    also: tuple[int, ...] = ()

    @property
    def is_pin_rule(self) -> bool:
        return self.rule != TYPE_ERROR

    def notes(self) -> list[str]:
        """The call to use instead, the other lines, then per tool what it said."""
        notes = [f"use {self.fix}"] if self.fix else []
        if self.also:
            notes.append(f"also at line{'s' if len(self.also) > 1 else ''} {', '.join(map(str, self.also))}")
        for tool in self.tools:
            said = list(dict.fromkeys(f"{d.message} [{d.code}]" for d in self.diagnostics if d.tool == tool))
            notes.append(f"{tool}: {'; '.join(said)}" if said else f"found by {tool}")
        return notes


@dataclass
class Report:
    """Findings of the tools that ran; *warnings* one line each (a tool that
    could not start); *rules* a one-line description per rule id."""

    tools: list[str] = field(default_factory=list[str])
    findings: list[Finding] = field(default_factory=list[Finding])
    warnings: list[str] = field(default_factory=list[str])
    rules: dict[str, str] = field(default_factory=dict[str, str])

    @classmethod
    def combine(cls, reports: Iterable[Report]) -> Report:
        out = cls()
        for r in reports:
            out.tools += r.tools
            out.findings += r.findings
            out.warnings += r.warnings
            out.rules |= r.rules
        out.findings.sort(key=lambda f: (f.path, f.line, f.col, f.rule))
        return out

    @property
    def pin_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.is_pin_rule]

    @property
    def type_errors(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_pin_rule]

    @property
    def status(self) -> int:
        return 1 if self.pin_findings else 0

    def summary(self) -> str:
        """``pinapi check: ...``: the counts and the tools that ran."""
        tools = ", ".join(self.tools[:-1]) + " and " + self.tools[-1] if len(self.tools) > 1 else "".join(self.tools)
        pins, types = len(self.pin_findings), len(self.type_errors)
        if not pins and not types:
            return f"pinapi check: clean ({tools})"
        parts = [f"{pins} pin-rule finding{'s' if pins != 1 else ''}" if pins else "no pin-rule finding"]
        if types:
            parts.append(f"{types} type error{'s' if types != 1 else ''} that break{'s' if types == 1 else ''} no pin rule")
        return f"pinapi check: {', '.join(parts)} ({tools})"


def _text(report: Report) -> str:
    lines: list[str] = []
    for kind, findings in (("error", report.pin_findings), ("warning", report.type_errors)):
        for f in findings:
            where = f"{f.path}:{f.line}:{f.col}"
            lines.append(f"{where}: {kind}: {f.message} [{f.rule}]")
            lines += [f"{where}: note: {note}" for note in f.notes()]
    return "\n".join([*lines, report.summary(), ""])


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "path": f.path, "line": f.line, "col": f.col, "rule": f.rule, "message": f.message, "fix": f.fix,
        "also": list(f.also), "tools": list(f.tools),
        "diagnostics": [{"tool": d.tool, "line": d.line, "col": d.col, "code": d.code, "message": d.message}
                        for d in f.diagnostics],
    }  # fmt: skip


def _json(report: Report) -> str:
    doc = {
        "pinapi": pinapi_version(),
        "tools": report.tools,
        "warnings": report.warnings,
        "findings": [_finding_json(f) for f in report.pin_findings],
        "type_errors": [_finding_json(f) for f in report.type_errors],
        "counts": {"findings": len(report.pin_findings), "type_errors": len(report.type_errors)},
        "exit_status": report.status,
    }
    return json.dumps(doc, indent=2) + "\n"


def _sarif_location(f: Finding, line: int, col: int) -> dict[str, Any]:
    absolute = Path(f.path).is_absolute()
    artifact = {"uri": Path(f.path).as_uri()} if absolute else {"uri": Path(f.path).as_posix(), "uriBaseId": "%SRCROOT%"}
    return {"physicalLocation": {"artifactLocation": artifact, "region": {"startLine": line, "startColumn": col}}}


def _sarif(report: Report) -> str:
    rule_ids = sorted({f.rule for f in report.findings})
    index = {rule: i for i, rule in enumerate(rule_ids)}
    level = {rule: "warning" if rule == TYPE_ERROR else "error" for rule in rule_ids}
    results: list[dict[str, Any]] = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.rule, "ruleIndex": index[f.rule], "level": level[f.rule],
            "message": {"text": f.message + (f"; use {f.fix}" if f.fix else "")},
            "locations": [_sarif_location(f, f.line, f.col)],
            "properties": {"tools": list(f.tools), "notes": f.notes()},
        }  # fmt: skip
        if f.also:
            result["relatedLocations"] = [
                {"id": i, **_sarif_location(f, line, 1), "message": {"text": "the same finding"}}
                for i, line in enumerate(f.also, 1)
            ]
        results.append(result)
    driver = {
        "name": "pinapi", "version": pinapi_version(), "semanticVersion": pinapi_version(),
        "rules": [{"id": rule, "shortDescription": {"text": report.rules.get(rule, rule)},
                   "defaultConfiguration": {"level": level[rule]}} for rule in rule_ids],
    }  # fmt: skip
    run = {
        "tool": {"driver": driver},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
        "invocations": [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [{"level": "warning", "message": {"text": w}} for w in report.warnings],
        }],
        "results": results,
    }  # fmt: skip
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"


def _escape(text: str, *, prop: bool = False) -> str:
    """A workflow command's data (or, with *prop*, property value), escaped."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def _github(report: Report) -> str:
    lines = [f"::warning title=pinapi check::{_escape(w)}" for w in report.warnings]
    for f in report.findings:
        kind = "error" if f.is_pin_rule else "warning"
        title = _escape(f"pinapi [{f.rule}]", prop=True)
        props = f"file={_escape(f.path, prop=True)},line={f.line},col={f.col},title={title}"
        body = _escape("\n".join([f.message, *f.notes()]))
        lines.append(f"::{kind} {props}::{body}")
    return "\n".join([*lines, report.summary(), ""])


FORMATS: Final[dict[str, Callable[[Report], str]]] = {"text": _text, "json": _json, "sarif": _sarif, "github": _github}
