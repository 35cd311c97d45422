"""The VS Code extension's TextMate grammar (editors/vscode), tokenized by VS Code's own engine
(vscode-textmate with vscode-oniguruma, under node) on every ```wf example of docs/language.md:
each reserved word is scoped as a keyword or a constant, each comment as a comment, and each
`{…}` inside a string as an interpolation, with the string around it still a string."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from wfkit.dsl.lexer import RESERVED

ROOT = Path(__file__).resolve().parents[2]
VSCODE = ROOT / "editors" / "vscode"
GRAMMAR = VSCODE / "syntaxes" / "wf.tmLanguage.json"
ENGINE = VSCODE / "test"

Token = tuple[int, int, int, str, list[str]]


def examples() -> str:
    docs = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```wf\n(.*?)^```", docs, re.M | re.S)
    assert len(blocks) > 10
    return "\n".join(blocks) + "\n" + (ROOT / "tests" / "dsl" / "fixtures" / "spec_example.wf").read_text("utf-8")


def regexes(node: Any) -> list[str]:
    found = []
    if isinstance(node, dict):
        found += [v for k, v in node.items() if k in ("match", "begin", "end") and isinstance(v, str)]
        for v in node.values():
            found += regexes(v)
    elif isinstance(node, list):
        for v in node:
            found += regexes(v)
    return found


def test_the_extension_declares_the_language_grammar_and_brackets() -> None:
    package = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    (language,) = package["contributes"]["languages"]
    (grammar,) = package["contributes"]["grammars"]
    assert language["extensions"] == [".wf"]
    assert grammar["language"] == language["id"] == "wf"
    assert json.loads((VSCODE / grammar["path"]).read_text(encoding="utf-8"))["scopeName"] == grammar["scopeName"]
    config = json.loads((VSCODE / language["configuration"]).read_text(encoding="utf-8"))
    assert config["comments"]["lineComment"] == "#"
    assert ["{", "}"] in config["brackets"] and ["(", ")"] in config["brackets"]
    assert "vscode-languageclient" in package["dependencies"]
    assert "lsp" in package["contributes"]["configuration"]["properties"]["wfkit.server.args"]["default"]


def test_every_regex_compiles() -> None:
    """The grammar keeps to what Oniguruma and Python's `re` both read (no possessive or \\G)."""
    found = regexes(json.loads(GRAMMAR.read_text(encoding="utf-8")))
    assert len(found) > 30
    for pattern in found:
        re.compile(pattern)


@pytest.fixture(scope="module")
def tokens() -> list[Token]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run VS Code's TextMate engine")
    if not (ENGINE / "node_modules" / "vscode-textmate").is_dir():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=ENGINE, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, f"npm ci in {ENGINE} failed:\n{done.stdout}\n{done.stderr}"
    run = subprocess.run(
        [node, str(ENGINE / "tokenize.js")],
        input=json.dumps({"text": examples()}),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [tuple(t) for t in json.loads(run.stdout)]  # type: ignore[misc]


def _inside(scopes: list[str], prefix: str) -> bool:
    return any(s.startswith(prefix) for s in scopes)


def test_every_reserved_word_is_a_keyword_or_a_constant(tokens: list[Token]) -> None:
    seen = set()
    for line, start, _, text, scopes in tokens:
        for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", text):
            word = m.group()
            in_text = _inside(scopes, "string") and not _inside(scopes, "meta.interpolation")
            if word not in RESERVED or _inside(scopes, "comment") or in_text:
                continue
            if word != text.strip():
                continue  # a part of a longer token (`order.each`): judged as its token
            seen.add(word)
            assert _inside(scopes, "keyword") or _inside(scopes, "constant.language") or _inside(scopes, "storage"), (
                f"line {line + 1}, column {start + 1}: {word!r} is scoped {scopes}"
            )
    assert seen >= {"if", "else", "for", "each", "in", "let", "schedule", "return", "when", "and", "not", "true"}


def test_declaration_words_and_names(tokens: list[Token]) -> None:
    def scoped(word: str) -> set[str]:
        return {s for _, _, _, text, scopes in tokens if text == word for s in scopes[1:]}

    assert "storage.type.function.wf" in scoped("workflow")
    assert "storage.type.type.wf" in scoped("type")
    assert "entity.name.function.decorator.wf" in scoped("exposed")
    assert "keyword.control.trigger.wf" in scoped("every")
    assert "keyword.other.unit.wf" in scoped("day")
    assert "entity.name.function.action.wf" in scoped("send_email")
    assert "entity.name.type.wf" in scoped("Order")
    assert "comment.line.number-sign.wf" in scoped("# Orders app")


def test_interpolations_in_strings(tokens: list[Token]) -> None:
    """In `"New order: {order.title}"` the braces and what is between them are an interpolation,
    inside the string; the rest of the string is plain string."""
    holes = 0
    for line, start, _, text, scopes in tokens:
        if not _inside(scopes, "string.quoted"):
            continue
        if _inside(scopes, "meta.interpolation"):
            holes += text == "{"
            continue
        assert "{" not in text.replace("\\{", ""), f"line {line + 1}, column {start + 1}: {text!r} is {scopes}"
    assert holes > 20
    by_line: dict[int, list[Token]] = {}
    for t in tokens:
        by_line.setdefault(t[0], []).append(t)
    lines = examples().split("\n")
    target = next(i for i, line in enumerate(lines) if '"New order: {order.title}"' in line)
    inner = [t for t in by_line[target] if t[3] in ("order", "title")]
    assert inner and all("meta.embedded.expression.wf" in t[4] for t in inner)
    assert all("string.quoted.double.wf" in t[4] for t in inner)
