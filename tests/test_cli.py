"""The command line: plain help text with a line for every argument,
``--version``, ``drivers`` alone prints the table, a source-checkout tool
run from an install is one line and exit 2; the pre-commit hook."""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

import pytest

from pinapi import __main__ as cli
from pinapi._lab.drivers_table import TABLE
from pinapi._tools import checkout

ROOT = Path(__file__).resolve().parent.parent


def commands() -> dict[str, argparse.ArgumentParser]:
    top = cli.parser()
    (sub,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return {"": top, **sub.choices}


def test_every_command_is_loaded_by_name() -> None:
    assert set(commands()) - {""} == set(cli.COMMANDS)
    for name in cli.COMMANDS:
        (sub,) = [a for a in cli.parser(name)._actions if isinstance(a, argparse._SubParsersAction)]
        assert list(sub.choices) == [name]


@pytest.mark.parametrize("name", ["", *cli.COMMANDS])
def test_help_is_plain_text_and_says_what_each_argument_is(name: str) -> None:
    p = commands()[name]
    text = p.format_help()
    assert "``" not in text and p.description, text
    assert [a.dest for a in p._actions if not a.help] == []


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert (e.value.code, capsys.readouterr().out) == (0, f"pinapi {version}\n")


def test_drivers_alone_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["drivers"]) == 0
    assert capsys.readouterr().out == TABLE.read_text()


@pytest.mark.parametrize(("argv", "what"), [
    (["run"], "the examples/ corpus (pinapi run without a PATH)"),
    (["drivers"], "the examples/drivers/ corpus"),
    (["review", "--no-timing"], "the review (docs/review.md and the examples it measures)"),
])  # fmt: skip
def test_source_checkout_tools_from_an_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], what: str
) -> None:
    monkeypatch.setattr(checkout, "in_checkout", lambda: False)
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (f"pinapi {argv[0]}: {what} needs a source checkout (examples/, docs/ and stubs/ "
                                 "of the pinapi repository); an installed wheel has none\n")  # fmt: skip


def test_pre_commit_hook_runs_check_with_the_tested_checkers() -> None:
    """.pre-commit-hooks.yaml: pre-commit installs this repository with its
    [check] extra and runs the console script's check on the staged files."""
    hook = dict(re.findall(r"^-? *(\w+): (.+)$", (ROOT / ".pre-commit-hooks.yaml").read_text(), re.M))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert (hook["id"], hook["language"], hook["require_serial"]) == ("pinapi-check", "python", "true")
    assert hook["entry"] == "pinapi check" and "pinapi" in project["scripts"]
    assert hook["additional_dependencies"] == '[".[check]"]' and "check" in project["optional-dependencies"]
    assert hook["types_or"] == "[python, pyi]"
