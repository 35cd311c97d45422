"""`GET /metrics` (SPEC §3.3): Prometheus' text format, parsed with prometheus-client's own parser,
from `wf serve` alone (counts kept in the process, read at each scrape) and `wf serve --workers 2`
(whichever process answers a scrape, it counts every process's runs)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from processes import free_port, wait_until_healthy, wf, wf_command
from prometheus_client.parser import text_string_to_metric_families

APP = """
@exposed(auth: none)
workflow pure(n: number) {
  return { n: n * 2 }
}
@exposed(auth: none)
workflow broken(n: number) {
  fail "no {n}" when n > 0
}
@exposed(auth: none)
workflow plan() {
  schedule pure(n: 1) in 0 seconds
  schedule pure(n: 2) in 1 day
  schedule pure(n: 3) in 1 day
}
"""
CALLS = 40


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """name and sorted labels → value, for every sample of the page."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture(params=["1", "2"], ids=["one process", "two workers"])
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    (tmp_path / "app.wf").write_text(APP)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("WF_DATABASE_URL", "WF_REDIS_URL", "WF_DATA_DIR", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            wf_command("serve", "app.wf", "--port", str(port), "--workers", request.param, "--no-access-log"),
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=out,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process, log, 40)
        token = wf("token", "create", cwd=tmp_path, env=env).stdout.strip()
        yield url, token
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)


SCHEDULED_RUN = ("wfkit_runs_total", (("status", "success"), ("trigger", "schedule"), ("workflow", "pure")))


def test_metrics_count_every_run_and_answer_of_every_process(server: tuple[str, str]) -> None:
    url, token = server
    assert httpx.get(url + "/metrics").status_code == 401
    for n in range(CALLS):  # a connection each: the two processes share the calls
        assert httpx.post(url + "/api/1.1/wf/pure", json={"n": n}).status_code == 200
    assert httpx.post(url + "/api/1.1/wf/broken", json={"n": 1}).status_code == 400
    assert httpx.post(url + "/api/1.1/wf/plan").status_code == 200
    assert httpx.get(url + "/api/1.1/wf/nowhere").status_code == 404  # not a workflow: counted by pattern
    assert httpx.get(url + "/no/such/path").status_code == 404
    pages = []
    deadline = time.monotonic() + 15
    while len(pages) < 6 or (SCHEDULED_RUN not in pages[-1] and time.monotonic() < deadline):
        page = httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {token}"})  # either process answers
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
        pages.append(samples(page.text))
        time.sleep(0.2)
    for s in pages:
        ok = ("wfkit_runs_total", (("status", "success"), ("trigger", "http"), ("workflow", "pure")))
        assert s[ok] == CALLS, "a scrape missed another process's runs"
        assert s[("wfkit_runs_total", (("status", "failed"), ("trigger", "http"), ("workflow", "broken")))] == 1
        assert s[("wfkit_run_duration_seconds_count", (("workflow", "pure"),))] >= CALLS
        route = ("wfkit_http_requests_total", (("route", "/api/1.1/wf/pure"), ("status", "200")))
        assert s[route] == CALLS
        assert s[("wfkit_http_requests_total", (("route", "/api/1.1/wf/<name>"), ("status", "404")))] == 1
        assert s[("wfkit_http_requests_total", (("route", "unmatched"), ("status", "404")))] == 1
        assert s[("wfkit_scheduled_runs", ())] in (2, 3)  # the two due tomorrow (and the one due now, until it starts)
    last = pages[-1]
    assert not [k for k in last if k[0] == "wfkit_http_requests_total" and ("status", "500") in k[1]], last
    assert last[SCHEDULED_RUN] == 1  # the run due at once ran in a background worker
    assert last[("wfkit_queue_lateness_seconds_count", ())] >= 1
    assert last[("wfkit_scheduled_runs", ())] == 2
    # the duration histogram: cumulative buckets up to +Inf, which holds every run of the workflow
    pure_count = last[("wfkit_run_duration_seconds_count", (("workflow", "pure"),))]
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for (name, labels), value in last.items()
        if name == "wfkit_run_duration_seconds_bucket" and ("workflow", "pure") in labels
    )
    assert [b for b, _ in buckets][-1] == float("inf") and len(buckets) == 18
    assert [v for _, v in buckets] == sorted(v for _, v in buckets) and buckets[-1][1] == pure_count
    assert 0 < last[("wfkit_run_duration_seconds_sum", (("workflow", "pure"),))] < pure_count * 5
