"""The `wf` command line: check, run, graph, plugins — through `main()` as the console script calls it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from wfkit.server.cli import main, parse_assignments

GOLDEN = Path(__file__).parent / "golden"

APP = """
@exposed
workflow greet(name: text, times: number = 1, loud: boolean = false, tags: list of text?) {
  let word = "hello {name}"
  if loud {
    let word = upper(word)
  }
  log "greeting {name}"
  return { text: word, times: times * 2, tags: count(tags) }
}
workflow boom(api_key: text) {
  fail "refused {api_key}"
}
"""


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.wf"
    path.write_text(APP)
    return path


def test_check_reports_every_error_with_carets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(GOLDEN)
    assert main(["check", "broken.wf"]) == 1
    out = capsys.readouterr().out
    if os.environ.get("WF_UPDATE_GOLDEN") == "1":  # regenerate after a deliberate change of a message
        (GOLDEN / "broken.err").write_text(out)
    assert out == (GOLDEN / "broken.err").read_text()


def test_check_clean_app(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(app)]) == 0
    assert capsys.readouterr().out == f"{app}: ok — 2 workflows (1 exposed), 1 type, 0 triggers\n"


def test_check_missing_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "/nonexistent/app.wf"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_run_converts_values_and_prints_the_response(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(app), "greet", "name=Ada", "times=21", "loud=yes", "tags=a", "tags=b"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"text": "HELLO ADA", "times": 42, "tags": 2}
    assert "log (line 8): greeting Ada" in captured.err


def test_run_bad_value_is_invalid_data(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(app), "greet", "name=Ada", "times=many"]) == 1
    err = json.loads(capsys.readouterr().err)
    assert err["statusCode"] == 400 and err["body"]["status"] == "INVALID_DATA"
    assert "parameter times" in err["body"]["message"] and "'many'" in err["body"]["message"]


def test_run_missing_value_is_missing_data(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(app), "greet"]) == 1
    err = json.loads(capsys.readouterr().err)
    assert err["body"] == {"status": "MISSING_DATA", "message": "Missing parameter for workflow greet: parameter name"}


def test_run_failure_is_workflow_error_with_line_and_no_secret(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(app), "boom", "api_key=sk_live_999"]) == 1
    err = json.loads(capsys.readouterr().err)
    assert err["body"]["status"] == "WORKFLOW_ERROR"
    assert err["body"]["message"] == "refused [redacted]" and err["body"]["line"] == 12


def test_run_unknown_workflow(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(app), "nope"]) == 1
    assert "no workflow 'nope' (workflows: boom, greet)" in capsys.readouterr().err


def test_run_refuses_an_app_with_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", str(GOLDEN / "broken.wf"), "first", "n=1"])
    assert info.value.code == 1
    assert "3 errors in" in capsys.readouterr().err


def test_parse_assignments() -> None:
    assert parse_assignments(["a=1", "b=x=y", "a=2", "c="]) == {"a": ["1", "2"], "b": "x=y", "c": ""}
    with pytest.raises(Exception, match="name=value"):
        parse_assignments(["oops"])


def test_graph_is_a_mermaid_flowchart(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(app), "greet"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    greet_start(["greet"])' in lines
    assert '    greet_2{"if loud"}' in lines
    assert '    greet_2 -->|"yes"| greet_3' in lines
    assert '    greet_2 -->|"no"| greet_4' in lines
    assert "    greet_3 --> greet_4" in lines
    assert "    greet_4 --> greet_5" in lines and "greet_end" not in out  # return ends the flow: no end node
    assert main(["graph", str(app)]) == 0
    both = capsys.readouterr().out
    assert "  subgraph greet" in both and "  subgraph boom" in both


def test_plugins_lists_builtins(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    actions = {a for p in info for a in p["actions"]}
    functions = {f for p in info for f in p["functions"]}
    assert "log" in actions and {"count", "join", "random_string", "env"} <= functions
    assert main(["plugins"]) == 0
    assert "functions:" in capsys.readouterr().out


def test_run_uses_the_store_and_tokens_are_shown_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WF_DATABASE_URL", raising=False)
    (tmp_path / "app.wf").write_text(
        "type Note {\n  text: text\n}\n"
        "workflow add(text: text) {\n"
        "  n = create Note(text: text)\n"
        "  return { id: n.id, count: count(search Note) }\n"
        "}\n"
    )
    counts = []
    for text in ("a", "b"):
        assert main(["run", "app.wf", "add", f"text={text}"]) == 0
        counts.append(json.loads(capsys.readouterr().out)["count"])
    assert counts == [1, 2]  # the second run sees the first one's note: the data is kept in .wf/
    assert (tmp_path / ".wf" / "data.sqlite3").exists()

    assert main(["token", "create", "--name", "ci"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("wfa_") and len(token) > 30
    assert main(["token", "list"]) == 0
    listing = capsys.readouterr().out
    assert " ci " in listing and token not in listing
    assert token.encode() not in (tmp_path / ".wf" / "data.sqlite3").read_bytes()
    assert main(["token", "revoke", "ci"]) == 0
    assert main(["token", "revoke", "ci"]) == 1


def test_run_hands_scheduled_runs_to_the_durable_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WF_DATABASE_URL", raising=False)
    monkeypatch.delenv("WF_REDIS_URL", raising=False)
    (tmp_path / "app.wf").write_text(
        "workflow later(n: number) {\n  log n\n}\n"
        "workflow now_(n: number) {\n  h = schedule later(n: n) in 1 day\n  return { id: h.id }\n}\n"
    )
    assert main(["run", "app.wf", "now_", "n=7"]) == 0
    captured = capsys.readouterr()
    run_id = json.loads(captured.out)["id"]
    assert "scheduled 1 run(s): they run when `wf serve` or `wf worker` runs" in captured.err
    assert main(["scheduled", "--json"]) == 0  # a later process sees it: it was kept in the queue
    listed = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["workflow"], r["args"]) for r in listed] == [(run_id, "later", {"n": 7})]
    assert main(["runs", "--json"]) == 0  # and the run itself is recorded
    assert [r["workflow"] for r in json.loads(capsys.readouterr().out)] == ["now_"]
