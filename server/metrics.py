"""`GET /metrics` (admin token): Prometheus' text format, by prometheus-client (SPEC §3.3).

Series: `wfkit_runs_total{workflow,trigger,status}` and `wfkit_run_duration_seconds{workflow}` for
every run that ends in this process (over HTTP, or in its background worker),
`wfkit_queue_lateness_seconds` (how long after its time a background run started),
`wfkit_http_requests_total{route,status}`, and `wfkit_scheduled_runs` (jobs waiting in the queue,
read from Redis at each scrape).

One process counts in plain dicts, read at each scrape. With `wf serve --workers N` every process
counts in files of one folder (prometheus-client's
multi-process mode: `PROMETHEUS_MULTIPROC_DIR`, which `wf serve` empties and sets before its
processes start), and a scrape that any of them answers adds up every process's counts. The mode
is chosen when prometheus-client is first imported, so this module imports it only once the
folder is set (`prepare`)."""

from __future__ import annotations

import os
import re
import shutil
from bisect import bisect_left
from itertools import accumulate
from pathlib import Path
from typing import Any

from sanic import Blueprint, HTTPResponse, Request
from sanic.response import BaseHTTPResponse
from wfkit.core.runs import RunRecord

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
LATENESS_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
PARAM_TYPE = re.compile(r"<(\w+):[^>]*>")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
RUNS_HELP = "Runs that ended, by workflow, trigger and status"
DURATION_HELP = "How long runs took, by workflow"
LATENESS_HELP = "How long after its time a background run started"
HTTP_HELP = "HTTP requests answered, by route and status"

bp = Blueprint("metrics")


def prepare(data_dir: Path, workers: int) -> None:
    """Before `wf serve` starts N > 1 processes: an empty folder for their counts, named in the
    environment they inherit."""
    if workers <= 1 or os.environ.get(MULTIPROCESS_ENV):
        return
    folder = data_dir / "metrics"
    shutil.rmtree(folder, ignore_errors=True)  # counts of an earlier server are not this one's
    folder.mkdir(parents=True)
    os.environ[MULTIPROCESS_ENV] = str(folder)


class Metrics:
    """This process's series, counted in plain dicts and read by prometheus-client only when a scrape
    asks (`collect`): a prometheus child takes a lock and a histogram walks its buckets in Python on
    every count, and every call counts twice. (With `wf serve --workers N` see `SharedMetrics`.)"""

    def __init__(self) -> None:
        self._runs: dict[tuple[str, str, str], int] = {}
        self._durations: dict[str, Spread] = {}
        self._lateness = Spread(LATENESS_BUCKETS)
        self._http: dict[tuple[str, int], int] = {}

    def run_ended(self, record: RunRecord) -> None:
        if record.status == "running":
            return
        key = (record.workflow, record.trigger, record.status)
        self._runs[key] = self._runs.get(key, 0) + 1
        if record.duration_ms is not None:
            spread = self._durations.get(record.workflow)
            if spread is None:
                spread = self._durations[record.workflow] = Spread(DURATION_BUCKETS)
            spread.add(record.duration_ms / 1000)

    def run_started(self, late_seconds: float) -> None:
        self._lateness.add(max(late_seconds, 0.0))

    def answered(self, route: str, status: int) -> None:
        key = (route, status)
        self._http[key] = self._http.get(key, 0) + 1

    def collect(self) -> Any:
        """The series as prometheus-client's metric families (a `Collector` of the default registry)."""
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        runs = CounterMetricFamily("wfkit_runs", RUNS_HELP, labels=["workflow", "trigger", "status"])
        for labels, count in list(self._runs.items()):
            runs.add_metric(list(labels), count)
        durations = HistogramMetricFamily("wfkit_run_duration_seconds", DURATION_HELP, labels=["workflow"])
        for workflow, spread in list(self._durations.items()):
            durations.add_metric([workflow], spread.buckets(), spread.total)
        lateness = HistogramMetricFamily("wfkit_queue_lateness_seconds", LATENESS_HELP)
        lateness.add_metric([], self._lateness.buckets(), self._lateness.total)
        http = CounterMetricFamily("wfkit_http_requests", HTTP_HELP, labels=["route", "status"])
        for (route, status), count in list(self._http.items()):
            http.add_metric([route, str(status)], count)
        return [runs, durations, lateness, http]


class Spread:
    """A histogram's counts: how many values fell at or under each bound (not yet cumulative)."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last: over every bound (+Inf)
        self.total = 0.0

    def add(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        from prometheus_client.utils import floatToGoString

        return [
            (floatToGoString(bound), count)  # type: ignore[no-untyped-call]
            for bound, count in zip((*self.bounds, float("inf")), accumulate(self.counts), strict=True)
        ]


class SharedMetrics:
    """The same series for `wf serve --workers N`: prometheus-client's own, which write every count
    to the shared folder at once, so that a scrape any process answers adds up every process's
    counts. Children are kept by their labels (`labels()` takes a lock and builds a key)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.runs = Counter("wfkit_runs", RUNS_HELP, ["workflow", "trigger", "status"])
        self.duration = Histogram("wfkit_run_duration_seconds", DURATION_HELP, ["workflow"], buckets=DURATION_BUCKETS)
        self.lateness = Histogram("wfkit_queue_lateness_seconds", LATENESS_HELP, buckets=LATENESS_BUCKETS)
        self.http = Counter("wfkit_http_requests", HTTP_HELP, ["route", "status"])
        self._runs: dict[tuple[str, str, str], Any] = {}
        self._durations: dict[str, Any] = {}
        self._http: dict[tuple[str, int], Any] = {}

    def run_ended(self, record: RunRecord) -> None:
        if record.status == "running":
            return
        key = (record.workflow, record.trigger, record.status)
        counter = self._runs.get(key)
        if counter is None:
            counter = self._runs[key] = self.runs.labels(*key)
        counter.inc()
        if record.duration_ms is not None:
            histogram = self._durations.get(record.workflow)
            if histogram is None:
                histogram = self._durations[record.workflow] = self.duration.labels(record.workflow)
            histogram.observe(record.duration_ms / 1000)

    def run_started(self, late_seconds: float) -> None:
        self.lateness.observe(max(late_seconds, 0.0))

    def answered(self, route: str, status: int) -> None:
        key = (route, status)
        counter = self._http.get(key)
        if counter is None:
            counter = self._http[key] = self.http.labels(route, str(status))
        counter.inc()


_metrics: Metrics | SharedMetrics | None = None


def current() -> Metrics | SharedMetrics:
    """The process's series, made on first use (after `prepare`, in every process)."""
    global _metrics
    if _metrics is None:
        if os.environ.get(MULTIPROCESS_ENV):
            _metrics = SharedMetrics()
        else:
            from prometheus_client.registry import REGISTRY

            _metrics = Metrics()
            REGISTRY.register(_metrics)
    return _metrics


_patterns: dict[str, str] = {}  # a route's path → its label


def route_of(request: Request) -> str:
    """The route a request took, as a label with few values: a workflow's own path, a pattern
    (`/api/1.1/obj/<type_name>`), or `unmatched`."""
    route = request.route
    if route is None:
        return "unmatched"
    if route.name.endswith(".call"):  # one route serves every workflow: name the workflow, if it is one
        name = request.match_info.get("name", "")
        if name in request.app.ctx.compiled.workflows:
            return workflow_route(name)
    label = _patterns.get(route.path)
    if label is None:  # once per route: this runs on every request
        label = _patterns[route.path] = "/" + PARAM_TYPE.sub(r"<\1>", route.path.lstrip("/"))  # `<name:str>` → `<name>`
    return label


CLIENT_GONE = 499  # as nginx counts a request whose client left before its answer


def workflow_route(name: str) -> str:
    """The route label of a workflow's answers (made once a workflow: this runs on every call)."""
    label = _workflow_routes.get(name)
    if label is None:
        label = _workflow_routes[name] = f"/api/1.1/wf/{name}"
    return label


_workflow_routes: dict[str, str] = {}


def count_request(request: Request, response: BaseHTTPResponse) -> None:
    count_answer(request, route_of(request), response.status)


def count_answer(request: Request, route: str, status: int) -> None:
    # A client that left (a timeout while the server started) gets Sanic's 500, which no one saw.
    transport = getattr(request, "transport", None)
    gone = transport is not None and transport.is_closing()
    current().answered(route, CLIENT_GONE if gone else status)


def page(scheduled: int | None) -> bytes:
    """The text a scrape gets: this process's series (all processes' in multi-process mode), and the
    number of jobs waiting in the queue (`scheduled`; None when the queue does not run here)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.multiprocess import MultiProcessCollector
    from prometheus_client.registry import REGISTRY, Collector

    current()  # every series exists, even before its first count
    registry = REGISTRY
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]

    class Scheduled(Collector):
        def collect(self) -> Any:
            gauge = GaugeMetricFamily(
                "wfkit_scheduled_runs", "Background jobs waiting in the queue (a list's slice counts once)"
            )
            if scheduled is not None:
                gauge.add_metric([], scheduled)
            yield gauge

    queue = CollectorRegistry()
    queue.register(Scheduled())
    return generate_latest(registry) + generate_latest(queue)


@bp.get("/metrics")
async def metrics(request: Request) -> HTTPResponse:
    from .meta_api import admin_state

    st = await admin_state(request)
    scheduled = None
    if st.background is not None:
        try:
            scheduled = await st.background.count_pending()
        except Exception:  # the queue is down: the page still answers, without the gauge's value
            scheduled = None
    return HTTPResponse(page(scheduled), content_type=CONTENT_TYPE)
