"""Request traces (issue 7 item 1): every attempt, wait and refusal of a traced request is a span
tied to its id; tracing changes nothing else; the kept sample is bounded and deterministic."""

from __future__ import annotations

import json
import subprocess
import sys

import simulator
from simulator.model.tracing import ATTEMPT, REFUSAL, RETRY_WAIT, TraceSampler
from simulator.report.traces import to_chrome, to_jsonl, trace_text

OUTAGE = """
version = 1
name = "outage with retries and a breaker"
duration = "40s"
seed = 3
[workload]
rate = 20
timeout = "10s"
schedule = [{ at = "30s", rate = 0 }]
[network]
default = "1ms"
[services.gateway]
workers = 50
[services.gateway.routes."POST /license/activate"]
steps = [{ call = "auth", route = "POST /activate" }]
[services.auth]
workers = 20
[services.auth.routes."POST /activate"]
steps = [{ work = "5ms" }, { call = "db", route = "write" }]
[services.db]
workers = 20
[services.db.routes."write"]
steps = [{ work = "3ms" }]
[policies."gateway->auth"]
timeout = "1s"
retry = { preset = "reference" }
breaker = { preset = "opossum", minimum_calls = 10, half_open_after = "5s" }
[[faults]]
kind = "outage"
target = "auth"
start = "10s"
duration = "8s"
"""


def scenario():
    return simulator.loads_scenario(OUTAGE)


def test_tracing_changes_nothing_in_the_run():
    plain = simulator.run(scenario())
    traced, _ = simulator.trace(scenario(), sampler=TraceSampler(first=10**9))
    assert json.dumps(plain.summary, sort_keys=True) == json.dumps(traced.summary, sort_keys=True)


def test_every_attempt_of_every_request_is_a_span():
    result, traces = simulator.trace(scenario(), sampler=TraceSampler(first=10**9))
    summary = result.summary
    assert summary["requests"]["in_flight_at_end"] == 0
    assert len(traces) == summary["requests"]["completed"]
    for hop, edge in summary["edges"].items():
        spans = [s for t in traces for s in t.spans if s.kind == ATTEMPT and str(s.hop) == hop]
        assert len(spans) == edge["attempts"], hop
    refusals = [s for t in traces for s in t.spans if s.kind == REFUSAL]
    assert len(refusals) == summary["edges"]["gateway->auth"]["breaker_rejections"]
    waits = [s for t in traces for s in t.spans if s.kind == RETRY_WAIT]
    assert len(waits) == summary["edges"]["gateway->auth"]["retries"]


def test_a_request_in_the_outage_shows_its_retries_and_backoff():
    _, traces = simulator.trace(scenario(), sampler=TraceSampler(failed=1))
    (trace,) = traces
    attempts = [s for s in trace.spans if s.kind == ATTEMPT and s.hop.callee == "auth"]
    waits = [round(s.end - s.start, 6) for s in trace.spans if s.kind == RETRY_WAIT]
    assert [a.number for a in attempts] == list(range(1, len(attempts) + 1))
    assert waits[:2] == [1.0, 2.0]  # the reference retry: 1 s, then 2 s
    text = trace_text(traces)
    assert trace.request_id in text and "gateway -> auth" in text and "backoff" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_the_sample_is_bounded_and_deterministic():
    sampler = TraceSampler(first=2, failed=3, slowest=4)
    _, traces = simulator.trace(scenario(), sampler=sampler)
    assert 4 <= len(traces) <= 2 + 3 + 4
    again = simulator.trace(scenario(), sampler=TraceSampler(first=2, failed=3, slowest=4))[1]
    assert traces == again
    slowest = sorted(
        t.duration for t in simulator.trace(scenario(), sampler=TraceSampler(first=10**9))[1]
    )
    kept = sorted(
        t.duration for t in simulator.trace(scenario(), sampler=TraceSampler(slowest=4))[1]
    )
    assert kept == slowest[-4:]


def test_exports_are_valid_json_lines_and_chrome_trace_events():
    _, traces = simulator.trace(scenario(), sampler=TraceSampler(failed=2))
    lines = to_jsonl(traces).splitlines()
    records = [json.loads(line) for line in lines]
    assert {r["request_id"] for r in records} == {t.request_id for t in traces}
    events = to_chrome(traces)["traceEvents"]
    for event in events:
        assert event["ph"] in ("X", "i", "M") and "pid" in event
        if event["ph"] == "X":
            assert event["dur"] >= 0 and event["ts"] >= 0
    assert sum(e["ph"] in ("X", "i") for e in events) == len(records)


def test_the_trace_command_prints_the_log_and_writes_the_files(tmp_path):
    path = tmp_path / "outage.toml"
    path.write_text(OUTAGE)
    out = tmp_path / "traces"
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "trace", str(path), "--failed", "2", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "caller -> callee" in done.stdout
    names = {p.name for p in out.iterdir()}
    assert {"traces.jsonl", "traces.chrome.json"} <= names
    assert sum(name.startswith("swimlane-req-") for name in names) == 2
    bad = subprocess.run(
        [sys.executable, "-m", "simulator", "trace", str(path), "--request", "x"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "not a request id" in bad.stderr
