"""The code blocks of docs/language.md are checked, so the guide cannot drift from the engine.

The convention, for whoever edits the guide:

- A ```wf block is a complete app in one file. It must compile with no errors and no warnings —
  unless the ```console block right after it shows `wf check` reporting errors or warnings (an
  example of them).
- A ```console block right after a ```wf block is a transcript. Each line starting with `$ ` is a
  command, `wf check FILE` or `wf run FILE WORKFLOW name=value …` (shell quoting; a repeated name
  gives a list, as in the CLI); the lines after it, up to the next command, are what it prints.
  The test saves the ```wf block as FILE in an empty folder and runs the command there through
  `wfkit.server.cli.main`, capturing stderr then stdout (what a terminal shows):
  - `wf check`: the output must match exactly, carets included, and the exit code must be 0
    when the output has no errors, 1 when it has;
  - `wf run`: the lines before the JSON (`log (line N): …`, the note about scheduled runs) must
    match exactly; the JSON — the response on success, the error body on failure — is compared
    by value, so the guide may write it on one line; the string "…" stands for any value (run ids).
- A ```wf-fragment block is a piece of an app, shown and not checked (keep them few). ```text,
  ```sh, ```json and other blocks are not checked either. A ```console block that does not follow
  a ```wf block is an error, so a transcript is never silently left unchecked.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from wfkit.core.app import App
from wfkit.core.loader import compile_sources
from wfkit.dsl.errors import Diagnostic
from wfkit.plugins.manager import get_registry
from wfkit.server.cli import main as wf_main

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "language.md"
ANY_VALUE = "…"

# ---------------------------------------------------------------- compiling


def render(diagnostics: list[Diagnostic], sources: dict[str, str]) -> str:
    ordered = sorted(diagnostics, key=lambda d: (d.span.file, d.span.line, d.span.column))
    return "\n".join(d.render(sources) for d in ordered)


@dataclass
class Compiled:
    app: App
    diagnostics: list[Diagnostic]  # errors and warnings


def compile_app(sources: dict[str, str]) -> Compiled:
    """Compile with the installed plugins, keeping every error and warning."""
    app, syntax, meaning = compile_sources(sources, get_registry())
    return Compiled(app, syntax + meaning)


def assert_clean(compiled: Compiled, sources: dict[str, str]) -> None:
    """No errors and no warnings."""
    assert not compiled.diagnostics, "\n" + render(compiled.diagnostics, sources)


# ---------------------------------------------------------------- reading the guide


@dataclass
class Block:
    info: str
    text: str
    line: int  # of the opening fence, 1-based
    transcript: Block | None = None  # the ```console block right after a ```wf block


@dataclass
class Command:
    argv: list[str]
    expected: list[str] = field(default_factory=list)


def blocks(markdown: str) -> list[Block]:
    """Fenced blocks, each ```wf block with the ```console block that follows it (blank lines apart)."""
    found: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*$", lines[i])
        if not m or not m.group(1):
            i += 1
            continue
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        block = Block(m.group(1), "\n".join(body) + "\n", start + 1)
        if block.info == "console" and found and found[-1].info == "wf" and _adjacent(lines, found[-1], start):
            found[-1].transcript = block
        else:
            found.append(block)
        i += 1
    return found


def _adjacent(lines: list[str], wf_block: Block, console_start: int) -> bool:
    """Only blank lines between the end of the ```wf block and the ```console fence."""
    end = wf_block.line + wf_block.text.count("\n")  # index of the closing fence
    return all(not line.strip() for line in lines[end + 1 : console_start])


def commands(transcript: Block) -> list[Command]:
    out: list[Command] = []
    for line in transcript.text.splitlines():
        if line.startswith("$ "):
            out.append(Command(shlex.split(line[2:], comments=True)))
        elif out:
            out[-1].expected.append(line)
        else:
            raise AssertionError(f"line {transcript.line}: a transcript starts with a `$ ` command")
    return out


GUIDE_BLOCKS = blocks(GUIDE.read_text(encoding="utf-8"))


def params(kind: str) -> Iterator[Any]:
    for b in GUIDE_BLOCKS:
        if b.info != "wf":
            continue
        is_error = b.transcript is not None and any(
            c.argv[:2] == ["wf", "check"] and _reports_diagnostics(c.expected) for c in commands(b.transcript)
        )
        if kind == "clean" and not is_error:
            yield pytest.param(b, id=f"line{b.line}")
        elif kind == "transcript" and b.transcript is not None:
            for n, c in enumerate(commands(b.transcript)):
                yield pytest.param(b, c, id=f"line{b.line}-{n + 1}-{c.argv[1] if len(c.argv) > 1 else ''}")


def _reports_diagnostics(expected: list[str]) -> bool:
    """`wf check` ends with `N errors, M warnings`, or `…: ok — …, N warning(s)` when it warns only."""
    return bool(expected) and (
        re.fullmatch(r"\d+ errors?, \d+ warnings?", expected[-1]) is not None
        or re.search(r", [1-9]\d* warnings?$", expected[-1]) is not None
    )


# ---------------------------------------------------------------- the checks


def test_the_guide_follows_the_convention() -> None:
    infos = {b.info for b in GUIDE_BLOCKS}
    assert "console" not in infos, "a ```console block must follow a ```wf block (only blank lines between)"
    assert sum(1 for b in GUIDE_BLOCKS if b.info == "wf") >= 20
    fragments = [b.line for b in GUIDE_BLOCKS if b.info == "wf-fragment"]
    assert len(fragments) <= 5, f"keep wf-fragment blocks few (lines {fragments})"
    for b in GUIDE_BLOCKS:
        if b.transcript is not None:
            for c in commands(b.transcript):
                assert c.argv[:2] in (["wf", "check"], ["wf", "run"]), f"line {b.transcript.line}: {c.argv}"
                assert c.argv[2].endswith(".wf"), f"line {b.transcript.line}: the app is a FILE.wf"


@pytest.mark.parametrize("block", list(params("clean")))
def test_wf_block_compiles_clean(block: Block) -> None:
    sources = {f"docs/language.md:{block.line}": block.text}
    assert_clean(compile_app(sources), sources)


@pytest.mark.parametrize(("block", "command"), list(params("transcript")))
def test_transcript(
    block: Block, command: Command, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = command.argv[2]
    (tmp_path / file).write_text(block.text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("WF_MAX_ITERATIONS", "WF_MAX_CHAIN"):
        monkeypatch.delenv(name, raising=False)
    code = wf_main(command.argv[1:])
    captured = capsys.readouterr()
    printed = (captured.err + captured.out).splitlines()
    if command.argv[1] == "check":
        assert printed == command.expected, "\n" + "\n".join(printed)
        errors = re.fullmatch(r"\d+ errors?, \d+ warnings?", command.expected[-1]) if command.expected else None
        assert code == (1 if errors else 0)
        return
    expected_lines, expected_json = _split_json(command.expected)
    printed_lines, printed_json = _split_json(printed)
    assert printed_lines == expected_lines, "\n" + "\n".join(printed)
    assert _matches(json.loads(printed_json), json.loads(expected_json)), printed_json
    is_error = json.loads(expected_json).get("statusCode") is not None
    assert code == (1 if is_error else 0)


def _split_json(lines: list[str]) -> tuple[list[str], str]:
    """Text lines before the JSON, and the JSON (which starts at the first line opening with { or [)."""
    for i, line in enumerate(lines):
        if line.startswith(("{", "[")):
            return lines[:i], "\n".join(lines[i:])
    raise AssertionError("no JSON in:\n" + "\n".join(lines))


def _matches(actual: Any, expected: Any) -> bool:
    if expected == ANY_VALUE:
        return True
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(_matches(actual[k], v) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_matches(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if _is_number(actual) and _is_number(expected):
        return bool(actual == expected)
    return type(actual) is type(expected) and bool(actual == expected)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


# ---------------------------------------------------------------- the checker checks itself


def test_blocks_pairs_a_wf_block_with_its_transcript() -> None:
    md = "\n".join(
        [
            "```wf",
            "workflow a() {",
            "}",
            "```",
            "",
            "```console",
            "$ wf run app.wf a",
            "{}",
            "```",
            "```wf-fragment",
            "log x",
            "```",
        ]
    )
    found = blocks(md)
    assert [(b.info, b.line) for b in found] == [("wf", 1), ("wf-fragment", 10)]
    assert found[0].transcript is not None
    assert [(c.argv, c.expected) for c in commands(found[0].transcript)] == [(["wf", "run", "app.wf", "a"], ["{}"])]


def test_a_console_block_after_prose_is_not_a_transcript() -> None:
    md = "```wf\nworkflow a() {\n}\n```\n\ntext\n\n```console\n$ wf check app.wf\n```\n"
    assert [b.info for b in blocks(md)] == ["wf", "console"]


def test_json_matching() -> None:
    assert _matches({"a": 1, "run_id": "x1"}, {"a": 1.0, "run_id": ANY_VALUE})
    assert not _matches({"a": 1}, {"a": True})
    assert not _matches({"a": 1, "b": 2}, {"a": 1})
    assert not _matches(["x"], ["x", "y"])
