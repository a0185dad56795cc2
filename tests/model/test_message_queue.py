"""The async path in runs: a publish answers 202 at once (503 when the queue is full), a hung
worker's message is delivered again after the visibility timeout, a failing message goes to the
dead-letter queue after max_deliveries, duplicates are counted only for non-idempotent
consumers, the notification's latency adds to the end-to-end latency, and every message is
acknowledged, dead-lettered or still queued."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simulator
from simulator.scenario import ScenarioError

BASE = """
version = 1
duration = "{duration}"
seed = {seed}
[workload]
rate = {rate}
schedule = [{{ at = "{stop}", rate = 0 }}]
timeout = "30s"
[services.gateway]
workers = 64
hold_worker_during_calls = false
[services.gateway.routes."POST /license/activate"]
steps = [{{ call = "queue", route = "POST /publish", timeout = "5s" }}]
[services.queue]
kind = "queue"
{queue_extra}
[services.auth]
workers = 16
[services.auth.routes."POST /activate"]
steps = [{{ work = {work} }}]
[services.notify]
workers = 16
[services.notify.routes."POST /notify"]
steps = [{{ work = "{notify_work}" }}]
[consumers.worker]
queue = "queue"
service = "auth"
route = "POST /activate"
concurrency = {concurrency}
visibility_timeout = "{visibility}"
max_deliveries = {max_deliveries}
nack_delay = "{nack_delay}"
idempotent = {idempotent}
notify = {{ service = "notify", route = "POST /notify" }}
{extra}
"""

DEFAULTS = {
    "duration": "60s",
    "seed": 1,
    "rate": 50,
    "stop": "40s",
    "queue_extra": "",
    "work": '{ dist = "exponential", mean = "10ms" }',
    "notify_work": "1ms",
    "concurrency": 4,
    "visibility": "30s",
    "max_deliveries": 5,
    "nack_delay": "1s",
    "idempotent": "false",
    "extra": "",
}


def scenario(**knobs) -> simulator.Scenario:
    return simulator.loads_scenario(BASE.format(**{**DEFAULTS, **knobs}))


def fault(kind: str, target: str, start: str, duration: str, extra: str = "") -> str:
    return (
        f'[[faults]]\nkind = "{kind}"\ntarget = "{target}"\nstart = "{start}"\n'
        f'duration = "{duration}"\n{extra}\n'
    )


def run(seed: int | None = None, **knobs):
    result = simulator.run(scenario(**knobs), seed=seed)
    assert result.summary["conservation"]["balanced"]
    queue = result.summary["queues"]["queue"]
    assert_conserved(queue)
    return result, queue


def assert_conserved(queue) -> None:
    c = queue["conservation"]
    assert c["balanced"]
    assert c["published"] == c["acked"] + c["dead_lettered"] + c["queued"] + c["in_flight"]
    assert queue["in_queue_at_end"] == c["queued"] and queue["in_flight_at_end"] == c["in_flight"]


def test_a_publish_answers_202_at_once_while_the_worker_is_down():
    result, queue = run(nack_delay="5s", extra=fault("outage", "auth", "10s", "15s"))
    summary = result.summary
    assert summary["success_ratio"] == 1.0  # the client never sees the outage
    assert summary["latency_s"]["all"]["p99"] < 0.02  # network + the broker's 1 ms, not the work
    assert summary["edges"]["gateway->queue"]["outcomes"]["success"] == queue["published"]
    assert queue["acked"] == queue["published"] > 1500  # all done once auth came back
    assert queue["peak_depth"] > 100 and queue["drained_at_s"] is not None
    assert 25 <= queue["drained_at_s"] <= 40  # drains after the outage, before arrivals stop
    assert summary["edges"]["worker->auth"]["outcomes"]["connection_refused"] > 0


def test_a_full_queue_answers_503_seen_by_the_producer():
    slow = '{ dist = "constant", value = "200ms" }'
    result, queue = run(queue_extra="max_messages = 20", work=slow, concurrency=1)
    summary = result.summary
    assert queue["rejected_full"] > 1000
    assert queue["peak_depth"] == 20
    edge = summary["edges"]["gateway->queue"]["outcomes"]
    assert edge["service_unavailable"] == queue["rejected_full"]
    assert summary["requests"]["outcomes"]["service_unavailable"] == queue["rejected_full"]
    assert queue["published"] + queue["rejected_full"] == summary["requests"]["completed"]


@pytest.mark.parametrize("idempotent", [False, True])
def test_a_hung_worker_message_is_delivered_again_after_the_visibility_timeout(idempotent):
    # Half of auth's calls hang for up to 20 s: stuck long past the 5 s visibility timeout.
    _, queue = run(
        visibility="5s",
        idempotent=str(idempotent).lower(),
        extra=fault("hang", "auth", "10s", "20s", "rate = 0.5"),
    )
    assert queue["expired"] > 0
    assert queue["redelivered"] >= queue["expired"]
    assert queue["stale_acks"] > 0  # the hung calls answered late, after their redelivery
    assert queue["acked"] == queue["published"]
    if idempotent:
        assert queue["duplicates"] == 0 and queue["duplicates_absorbed"] > 0
    else:
        assert queue["duplicates"] > 0 and queue["duplicates_absorbed"] == 0


def test_a_failing_message_is_dead_lettered_after_max_deliveries():
    failing = fault("errors", "auth", "0s", "60s", "rate = 1.0\nstatus = 500")
    result, queue = run(max_deliveries=3, nack_delay="100ms", extra=failing)
    assert queue["acked"] == 0
    assert queue["dead_lettered"] == queue["published"] > 1500
    assert queue["delivered"] == 3 * queue["published"]
    assert queue["redelivered"] == 2 * queue["published"]
    assert queue["e2e_latency_s"]["count"] == 0
    assert result.summary["success_ratio"] == 1.0  # the producer was told 202 all the same


def test_no_redelivery_when_nothing_fails():
    _, queue = run()
    assert queue["redelivered"] == queue["expired"] == queue["dead_lettered"] == 0
    assert queue["duplicates"] == 0 and queue["delivered"] == queue["published"]


@pytest.mark.parametrize("idempotent", [False, True])
def test_failed_notifications_redo_the_work_duplicates_only_when_not_idempotent(idempotent):
    flaky = fault("errors", "notify", "0s", "60s", "rate = 0.3\nstatus = 500")
    _, queue = run(idempotent=str(idempotent).lower(), nack_delay="100ms", extra=flaky)
    assert queue["notify_failed"] > 300
    # Every failed notification hands the message back and its work is done again, except the
    # last failure of a message that is then dead-lettered.
    extra = queue["duplicates_absorbed"] if idempotent else queue["duplicates"]
    assert extra == queue["notify_failed"] - queue["dead_lettered"]
    assert (queue["duplicates"] if idempotent else queue["duplicates_absorbed"]) == 0


def test_notification_latency_adds_to_end_to_end_latency():
    _, fast = run(notify_work="1ms", concurrency=32)
    _, slow = run(notify_work="200ms", concurrency=32)
    gap = slow["e2e_latency_s"]["p50"] - fast["e2e_latency_s"]["p50"]
    assert gap == pytest.approx(0.199, rel=0.05)
    assert fast["e2e_latency_s"]["count"] == fast["acked"]


def test_the_consumer_hop_has_the_usual_policy_stack():
    policies = (
        '[policies."worker->auth"]\ntimeout = "50ms"\n'
        'retry = { max_attempts = 3, backoff = { base = "10ms", jitter = "none" } }\n'
    )
    slowish = '{ dist = "exponential", mean = "30ms" }'
    result, queue = run(work=slowish, extra=policies)
    edge = result.summary["edges"]["worker->auth"]
    assert edge["retries"] > 0 and edge["outcomes"]["timeout"] > 0
    assert queue["work_failed"] == edge["outcomes"]["timeout"]


@pytest.mark.parametrize("seed", range(1, 9))
def test_every_message_is_accounted_for_across_seeds(seed):
    # Stop mid-stream (arrivals until the end) with failures, hangs and a slow worker: messages
    # are left queued and in flight at the end, and still every one is counted once.
    faults = fault("hang", "auth", "5s", "10s", "rate = 0.3") + fault(
        "errors", "auth", "15s", "10s", "rate = 0.5"
    )
    _, queue = run(
        seed=seed,
        duration="30s",
        stop="60s",
        rate=120,
        concurrency=1,
        visibility="2s",
        max_deliveries=2,
        nack_delay="500ms",
        queue_extra="max_messages = 200",
        extra=faults,
    )
    assert queue["in_queue_at_end"] + queue["in_flight_at_end"] > 0
    assert queue["dead_lettered"] > 0 and queue["redelivered"] > 0


@settings(max_examples=15, deadline=None)
@given(
    rate=st.integers(5, 150),
    concurrency=st.integers(1, 6),
    prefetch=st.integers(1, 10),
    visibility=st.sampled_from(["200ms", "1s", "5s"]),
    max_deliveries=st.integers(1, 4),
    error_rate=st.sampled_from([0.0, 0.2, 0.9]),
    limit=st.sampled_from(["", "max_messages = 5", "max_messages = 100"]),
    seed=st.integers(0, 1000),
)
def test_conservation_holds_for_any_settings(
    rate, concurrency, prefetch, visibility, max_deliveries, error_rate, limit, seed
):
    extra = f"prefetch = {prefetch}\n" + fault("errors", "auth", "2s", "4s", f"rate = {error_rate}")
    _, queue = run(
        seed=seed,
        duration="10s",
        stop="8s",
        rate=rate,
        concurrency=concurrency,
        visibility=visibility,
        max_deliveries=max_deliveries,
        work='{ dist = "exponential", mean = "50ms" }',
        queue_extra=limit,
        extra=extra,
    )
    assert queue["delivered"] >= queue["acked"] + queue["dead_lettered"]


def test_a_queue_keeps_its_messages_while_it_is_down():
    # The broker is durable: an outage of the queue refuses publishes and stops deliveries;
    # what it stored is delivered once it is back.
    slow = '{ dist = "constant", value = "100ms" }'
    result, queue = run(work=slow, concurrency=4, extra=fault("outage", "queue", "20s", "5s"))
    refused = result.summary["edges"]["gateway->queue"]["outcomes"]["connection_refused"]
    assert refused > 100
    assert queue["acked"] == queue["published"]
    series = result.timeseries
    window = (series["time"] >= 21) & (series["time"] < 25)
    assert series["queue.delivered"][window].sum() == 0
    assert series["queue.depth"][window].min() > 0


def test_same_seed_same_bytes():
    knobs = {"visibility": "2s", "extra": fault("hang", "auth", "10s", "5s", "rate = 0.5")}
    a = json.dumps(run(**knobs)[0].summary, sort_keys=True)
    b = json.dumps(run(**knobs)[0].summary, sort_keys=True)
    assert a == b


CONSUMER = '[consumers.worker]\nqueue = "queue"\nservice = "auth"\nroute = "POST /activate"\n'


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ('queue = "queue"\nservice', 'queue = "kew"\nservice', "consumers.worker.queue: 'kew' is"),
        ('queue = "queue"\nservice', 'queue = "auth"\nservice', "'auth' is not a queue"),
        ('visibility_timeout = "30s"', 'visibility_timeout = "0s"', "visibility_timeout"),
        ("max_deliveries = 5", "max_deliveries = 0", "consumers.worker.max_deliveries"),
        ('route = "POST /activate"\nconc', 'route = "GET /x"\nconc', "consumers.worker.route"),
        ('"notify", route = "POST /notify"', '"notify", route = "X"', "worker.notify.route"),
        ("[consumers.worker]", "[consumers.auth]", "consumers.auth: 'auth' is already"),
        (
            "[consumers.worker]",
            "[consumers.nobody]\nqueue = 'queue'\nservice='auth'\n"
            "route='POST /activate'\n[consumers.worker]",
            "",
        ),
    ],
)
def test_bad_consumers_are_one_line_errors(old, new, needle):
    text = BASE.format(**DEFAULTS)
    assert old in text
    text = text.replace(old, new, 1)
    if not needle:  # two consumers of one queue are fine (they compete for its messages)
        simulator.loads_scenario(text)
        return
    with pytest.raises(ScenarioError) as error:
        simulator.loads_scenario(text)
    assert any(needle in p for p in error.value.problems), error.value.problems
    assert all("\n" not in p for p in error.value.problems)


def test_a_queue_without_consumer_and_queue_keys_elsewhere_are_errors(tmp_path):
    text = BASE.format(**DEFAULTS)
    text = text[: text.index("[consumers.worker]")]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as error:
        simulator.load_scenario(path)
    assert error.value.problems == [
        "services.queue: queue 'queue' has no consumer; its messages would never leave it; "
        "add [consumers.worker] with queue = 'queue'"
    ]
    done = subprocess.run(
        [sys.executable, "-m", "simulator", "validate", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "services.queue: queue 'queue' has no consumer" in done.stderr
    text = text.replace(
        "[services.auth]\nworkers = 16", "[services.auth]\nworkers = 16\nmax_messages = 3"
    )
    path.write_text(text + CONSUMER)
    with pytest.raises(ScenarioError) as error:
        simulator.load_scenario(path)
    assert any("max_messages" in p and "kind = 'queue'" in p for p in error.value.problems)


def test_tables_and_narrative_tell_the_backlog():
    from simulator.report.narrative import narrative
    from simulator.report.tables import run_tables

    result, queue = run(nack_delay="5s", extra=fault("outage", "auth", "10s", "15s"))
    tables = {t.title: t for t in run_tables(result.summary)}
    row = tables["Queues"].rows[0]
    assert row[:3] == ["queue", "worker", f"{queue['published']:,}"]
    told = [s for s in narrative(result) if s.startswith("Queue queue")]
    assert len(told) == 1
    assert f"peaked at {queue['peak_depth']:,} messages" in told[0]
    assert "drained by" in told[0] and "redeliveries" in told[0]


def test_runs_without_a_queue_have_no_queue_keys():
    text = BASE.format(**DEFAULTS)
    text = text[: text.index("[consumers.worker]")]
    text = text.replace(
        'call = "queue", route = "POST /publish"', 'call = "auth", route = "POST /activate"'
    )
    text = text.replace('[services.queue]\nkind = "queue"\n', "")
    result = simulator.run(simulator.loads_scenario(text))
    assert "queues" not in result.summary
    assert not any(key.startswith("queue.") for key in result.timeseries)


def test_bundled_async_queue_scenario_sync_errors_queue_backlog():
    from tests.conftest import SCENARIOS

    scenarios = simulator.load_scenario_set(SCENARIOS / "async-queue.toml")
    assert scenarios.base_name == "sync"
    sync = simulator.run(scenarios.base, seed=1).summary
    queued = simulator.run(scenarios.variants["queue"], seed=1).summary
    assert 0.70 < sync["success_ratio"] < 0.80  # 75 % (seed 1): 15 s of 60 s refused
    assert "queues" not in sync
    assert queued["success_ratio"] == 1.0
    block = queued["queues"]["activations"]
    assert_conserved(block)
    assert block["dead_lettered"] == 0 and block["redelivered"] > 0
    assert 20 <= block["peak_depth_at_s"] <= 35 and block["peak_depth"] > 2000
    assert 35 <= block["drained_at_s"] <= 45  # drains within seconds of auth coming back
    assert 14 <= block["e2e_latency_s"]["max"] <= 20  # published at the outage's start


def test_the_report_has_the_queue_chart_with_its_caption(tmp_path):
    from simulator.plots.queue_charts import has_queues, queue_timeline
    from simulator.report.html import write_run_report

    result, queue = run(nack_delay="5s", extra=fault("outage", "auth", "10s", "15s"))
    assert has_queues(result)
    figure = queue_timeline(result)
    depth, age, _ = figure.axes[:3]
    assert max(depth.lines[0].get_ydata()) == pytest.approx(result.timeseries["queue.depth"].max())
    assert max(age.lines[0].get_ydata()) == pytest.approx(queue["peak_oldest_age_s"])
    write_run_report(result, tmp_path / "out")
    assert (tmp_path / "out" / "queues.png").exists()
    html = (tmp_path / "out" / "report.html").read_text()
    assert "age of the oldest unacknowledged message" in html
    no_queue, _ = run()
    assert has_queues(no_queue)  # an idle queue still has its chart


def test_compare_shows_each_queue_metric_and_the_sweep_selects_them():
    from simulator.report.experiments import comparison_metrics, comparison_text
    from tests.conftest import SCENARIOS

    comparison = simulator.compare(SCENARIOS / "async-queue.toml", replications=2)
    shown = comparison_metrics(comparison)
    for key in ("e2e_p99_s", "dead_lettered", "redelivered", "duplicates", "peak_depth"):
        assert f"activations.{key}" in shown
    assert comparison.interval("queue", "activations.e2e_p99_s").mean > 10
    assert comparison.interval("queue", "activations.dead_lettered").mean == 0
    text = comparison_text(comparison)
    assert "publish to notification p99, activations" in text and "dead letters" in text
    assert max(len(line) for line in text.splitlines()) <= 100


def test_a_traced_request_shows_its_message_deliveries():
    from simulator.model.tracing import TraceSampler
    from simulator.report.traces import trace_text
    from tests.conftest import SCENARIOS

    scenarios = simulator.load_scenario_set(SCENARIOS / "async-queue.toml")
    sampler = TraceSampler(requests=frozenset({4400}))
    result, (trace,) = simulator.trace(scenarios.variants["queue"], sampler=sampler)
    untraced = simulator.run(scenarios.variants["queue"])
    assert json.dumps(result.summary, sort_keys=True) == json.dumps(
        untraced.summary, sort_keys=True
    )
    kinds = [span.kind for span in trace.spans]
    assert kinds.count("publish") == 1 and kinds.count("ack") == 1
    assert kinds.count("delivery") == kinds.count("nack") + 1 >= 2  # refused during the outage
    text = trace_text([trace])
    assert "worker -> auth" in text and "worker -> notifications" in text and "nack" in text
