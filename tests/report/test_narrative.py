"""The "what happened" narrative (issue 7 item 4): it names the right faults, breakers, queues,
bottleneck and recovery, with the summary's own numbers, and it shows in every output."""

from __future__ import annotations

import json

from simulator.metrics.catalog import COUNT, DURATION, moment
from simulator.report.html import write_run_report
from simulator.report.narrative import narrative, story
from simulator.report.text import summary_text


def sentence(sentences: list[str], start: str) -> str:
    found = [s for s in sentences if s.startswith(start)]
    assert len(found) == 1, (start, sentences)
    return found[0]


def test_reference_tells_the_outage_the_breaker_the_recovery_and_the_dashboards(bundled_run):
    result = bundled_run("reference")
    s = result.summary
    told = narrative(result)
    fault = s["faults"][0]
    assert sentence(told, "Faults:") == (
        f"Faults: an outage on {fault['target']} from {moment(fault['start_s'])} "
        f"to {moment(fault['end_s'])}."
    )
    breaker = s["edges"]["gateway->auth"]["breakers"]["gateway->auth"]
    opened, half, closed = breaker["periods"]
    text = sentence(told, "The breaker on gateway->auth")
    assert f"opened at {moment(opened['from_s'])}" in text and "23.99 s" in text
    assert (
        f"rejected {COUNT.format(opened['rejected'])} calls until {moment(opened['to_s'])}" in text
    )
    assert f"half-opened at {moment(half['from_s'])}" in text
    assert f"closed at {moment(closed['from_s'])}" in text
    assert f"({COUNT.format(breaker['rejected'])} rejected in all)" in text  # 1,488
    assert breaker["rejected"] == opened["rejected"] + half["rejected"]

    recovery = s["recovery"]
    back = fault["end_s"] + recovery["after_last_fault_s"]
    goodput = sentence(told, "Goodput fell below the offered load at")
    assert f"was back at {moment(back)}" in goodput
    assert (
        DURATION.format(recovery["after_last_fault_s"]) + " after the last fault ended" in goodput
    )

    dashboard = s["routes"]["GET /dashboard"]
    degraded = sentence(told, f"{COUNT.format(dashboard['outcomes']['degraded'])} of")
    assert "GET /dashboard" in degraded
    for branch, n in dashboard["missing"].items():
        assert f"{branch} ({COUNT.format(n)})" in degraded

    edge = s["edges"]["gateway->auth"]
    policies = sentence(told, "On gateway->auth:")
    assert f"{COUNT.format(edge['retries'])} retries" in policies
    assert f"{COUNT.format(edge['dedup_hits'])} calls shared by dedup" in policies
    assert sentence(told, "No service ran out of workers")  # an outage, not a capacity problem


def test_db_slowdown_names_the_database_as_the_bottleneck_and_auths_queue(bundled_run):
    result = bundled_run("db-slowdown")
    s = result.summary
    told = narrative(result)
    db, auth = s["services"]["db"], s["services"]["auth"]
    bottleneck = sentence(told, "The bottleneck was db:")
    assert db["peak_utilization"] >= 0.95 and auth["peak_utilization"] >= 0.95
    assert "saturated too: auth" in bottleneck  # auth waits on the database
    queue = sentence(told, "Queues peaked at")
    assert queue.startswith(
        f"Queues peaked at {COUNT.format(auth['peak_queue_length'])} waiting for auth at "
        f"{moment(auth['peak_queue_at_s'])}"
    )
    timeouts = s["edges"]["gateway->auth"]["outcomes"]["timeout"]
    assert sentence(told, f"{COUNT.format(timeouts)} calls on gateway->auth timed out")
    brownout = s["faults"][0]
    assert sentence(told, "Faults:") == "Faults: a brownout on db from 20 s to 40 s."
    assert s["recovery"]["after_last_fault_s"] == 0
    assert sentence(told, "Goodput fell").endswith(
        f"was back as the last fault ended, at {moment(brownout['end_s'])}."
    )
    wasted = sum(svc["wasted_work_s"] for svc in s["services"].values())
    assert sentence(told, f"{wasted:,.2f} s of work was done for callers who had already left")


def test_the_narrative_follows_the_numbers_not_the_scenario(bundled_run):
    """Change the summary's numbers and the sentences change with them."""
    result = bundled_run("db-slowdown")
    summary = json.loads(result.to_json())
    summary["services"]["auth"]["peak_queue_length"] = 4120
    summary["services"]["auth"]["peak_queue_at_s"] = 31.0
    told = story(summary, result.timeseries)
    assert sentence(told, "Queues peaked at").startswith(
        "Queues peaked at 4,120 waiting for auth at 31 s"
    )


def test_retry_storm_says_it_did_not_recover(bundled_run):
    told = narrative(bundled_run("retry-storm"))
    assert "did NOT recover" in sentence(told, "Goodput fell")
    assert sentence(told, "The bottleneck was db:")


def test_a_run_without_faults_says_so(bundled_run):
    told = narrative(bundled_run("steady"))
    assert told[0] == "No fault was injected."
    assert not [s for s in told if s.startswith("Goodput")]


def test_a_flapping_breaker_is_summed_up(bundled_run):
    result = bundled_run("steady")
    summary = json.loads(result.to_json())
    periods = []
    for i in range(4):
        start = 10.0 + 10 * i
        periods += [
            {"state": "open", "from_s": start, "to_s": start + 5, "rejected": 100},
            {"state": "half_open", "from_s": start + 5, "to_s": start + 6, "rejected": 1},
        ]
    periods[-1]["to_s"] = summary["duration_s"]
    summary["edges"]["gateway->auth"]["breakers"] = {
        "gateway->auth": {"periods": periods, "rejected": 404, "transitions": []}
    }
    text = sentence(story(summary, result.timeseries), "The breaker on gateway->auth")
    assert text == (
        "The breaker on gateway->auth opened 4 times between 10 s and 45 s, open for 20 s in "
        "all, and rejected 404 calls; it was still half-open at the end of the run."
    )


def test_the_narrative_shows_in_the_terminal_the_html_and_the_json(bundled_run, tmp_path):
    result = bundled_run("reference")
    told = narrative(result)
    text = " ".join(summary_text(result).split())
    assert "What happened:" in text
    for s in told:
        assert "- " + s in text
    written = write_run_report(result, tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert page.index("What happened") < page.index("Requests by outcome")
    assert "The breaker on gateway-&gt;auth opened at 23.99 s" in page
    assert json.loads((tmp_path / "summary.json").read_text())["narrative"] == told
    assert written


def test_breakers_that_never_opened_are_named_together(bundled_run):
    result = bundled_run("steady")
    summary = json.loads(result.to_json())
    quiet = {"periods": [], "rejected": 0, "transitions": []}
    summary["edges"]["auth->db"]["breakers"] = {"auth->db #0": quiet, "auth->db #1": quiet}
    told = story(summary, result.timeseries)
    assert "The breakers on auth->db #0 and auth->db #1 never opened." in told


def test_goodput_that_stayed_within_noise_is_said_so(bundled_run):
    result = bundled_run("retry-budgets")  # 251 of 11,972 requests fail, spread over 20 s
    assert result.summary["recovery"]["after_last_fault_s"] == 0
    assert (
        "Goodput never fell below the offered load by more than Poisson noise allows in a bucket."
        in narrative(result)
    )
    assert sentence(narrative(result), "On auth->db:") == (
        f"On auth->db: {COUNT.format(result.summary['edges']['auth->db']['retries'])} retries."
    )


def test_goodput_back_before_the_fault_ended_is_told_with_its_time(bundled_run):
    """A crash the registry routes around: goodput is back long before the crashed instance
    restarts, and the sentence says when, not "as the last fault ended"."""
    import numpy as np

    result = bundled_run("license-system")
    s = result.summary
    told = narrative(result)
    assert s["recovery"]["after_last_fault_s"] == 0
    last_end = max(f["end_s"] for f in s["faults"])
    goodput = sentence(told, "Goodput fell")
    assert f"before the last fault ended ({moment(last_end)})" in goodput
    back = float(goodput.split("was back for good at ")[1].split(" s,")[0])
    assert back < last_end - 30
    times = np.asarray(result.timeseries["time"])
    after = (times >= back) & (times + s["bucket_s"] <= last_end)
    got = np.asarray(result.timeseries["goodput_rps"])[after].sum()
    offered = np.asarray(result.timeseries["offered_rps"])[after].sum()
    assert got >= 0.95 * s["recovery"]["pre_fault_success_fraction"] * offered
