"""Per-route and per-hop accounting in every output (issue 7 item 3): the terminal, report.html and
summary.json show what each policy did on each hop, only the columns that are not zero, within
100 columns; the numbers are the summary's own."""

from __future__ import annotations

import dataclasses
import json

import pytest

from simulator.report.files import summary_json
from simulator.report.html import write_run_report
from simulator.report.tables import run_tables
from simulator.report.text import column_groups, fitted_table, paragraph, summary_text
from tests.report.test_metric_formats import Tables, cells


def table(summary, title):
    found = [t for t in run_tables(summary) if t.title == title]
    return found[0] if found else None


def row(found, name):
    return dict(zip(found.headers, next(r for r in found.rows if r[0] == name), strict=True))


def test_the_reference_terminal_shows_breaker_transitions_dedup_and_retries(bundled_run):
    result = bundled_run("reference")
    edge = result.summary["edges"]["gateway->auth"]
    text = summary_text(result)
    lines = text.splitlines()
    policies = lines.index("What the policies did")
    assert cells(lines[policies + 1]) == [
        "hop",
        "breaker rejections",
        "dedup shares",
        "shared errors",
        "connects",
    ]
    assert cells(lines[policies + 3]) == ["gateway->auth", "1,488", "6,326", "1,855", "299"]
    assert edge["dedup_hits"] == 6326 and edge["breaker_rejections"] == 1488
    hops = lines.index("Hops")
    assert "retries" in cells(lines[hops + 1])
    assert dict(zip(cells(lines[hops + 1]), cells(lines[hops + 4]), strict=True))["retries"] == (
        f"{edge['retries']:,}"
    )
    breakers = lines.index("Circuit breakers")
    transitions = edge["breakers"]["gateway->auth"]["transitions"]
    rows = [cells(line) for line in lines[breakers + 3 : breakers + 6]]
    assert [r[-4] for r in rows] == ["open", "half-open", "closed"]
    assert [state for _, state in transitions] == ["open", "half_open", "closed"]
    assert rows[0][-3] == f"{transitions[0][0]:.2f} s" == "23.99 s"
    assert rows[1][-3] == f"{transitions[1][0]:.2f} s" == "53.99 s"
    assert (
        sum(int(r[-1].replace(",", "")) for r in rows)
        == edge["breakers"]["gateway->auth"]["rejected"]
    )


def test_attempts_per_request_is_explained_where_it_is_shown(bundled_run, tmp_path):
    result = bundled_run("reference")
    text = summary_text(result)
    assert "attempts/request: attempts sent on the hop per request the client offered" in text
    page = (write_run_report(result, tmp_path)[-1]).read_text()
    assert 'title="attempts sent on the hop per request the client offered' in page
    hops = Tables(page).table("hop", "calls")
    assert dict(zip(hops[0], hops[2], strict=True))["attempts/request"] == "0.368x"


def test_only_columns_with_a_non_zero_value_are_shown(bundled_run):
    summary = bundled_run("reference").summary
    policies = table(summary, "What the policies did")
    assert policies.headers == [
        "hop",
        "breaker rejections",
        "dedup shares",
        "shared errors",
        "connects",
    ]
    assert [r[0] for r in policies.rows] == ["gateway->auth"]  # the other hops did nothing
    hops = table(summary, "Hops")
    assert "wasted work" not in hops.headers  # nothing was wasted in this run
    assert "retries" in hops.headers

    changed = json.loads(json.dumps(summary))
    changed["edges"]["auth->db"]["hedges"] = 7
    changed["edges"]["auth->db"]["wasted_work_s"] = 1.5
    grown = table(changed, "What the policies did")
    assert "hedges" in grown.headers
    assert row(grown, "auth->db")["hedges"] == "7"
    assert row(grown, "gateway->auth")["hedges"] == "0"
    assert row(table(changed, "Hops"), "auth->db")["wasted work"] == "1.50 s"

    quiet = bundled_run("steady").summary
    titles = [t.title for t in run_tables(quiet)]
    assert "What the policies did" not in titles and "Circuit breakers" not in titles
    assert "Hop outcomes other than success" not in titles  # nothing failed
    assert "retries" not in table(quiet, "Hops").headers


def test_routes_show_outcomes_latency_and_the_branches_degraded_answers_lacked(bundled_run):
    summary = bundled_run("reference").summary
    routes = table(summary, "Routes")
    dashboard = row(routes, "GET /dashboard")
    stats = summary["routes"]["GET /dashboard"]
    assert dashboard["degraded"] == f"{stats['outcomes']['degraded']:,}" == "158"
    assert dashboard["success"] == f"{stats['outcomes']['success']:,}"
    assert dashboard["answered"] == f"{stats['completed']:,}"
    assert "service unavailable" in routes.headers and "timeout" not in routes.headers
    assert row(routes, "POST /license/activate")["service unavailable"] == "3,229"
    assert routes.notes == (
        "GET /dashboard: 158 degraded answers; lacked gateway->auth GET /stats (158)",
    )
    for route in summary["routes"]:
        assert row(routes, route)["p99"]  # a latency for each route


def test_failed_counts_neither_successes_nor_degraded_answers(bundled_run):
    summary = bundled_run("reference").summary
    client = summary["edges"]["client->gateway"]
    shown = row(table(summary, "Hops"), "client->gateway")["failed"]
    failures = client["calls"] - client["outcomes"]["success"] - client["outcomes"]["degraded"]
    assert shown == f"{failures:,}" == "3,229"
    outcomes = row(table(summary, "Hop outcomes other than success"), "gateway->auth")
    assert outcomes["breaker open"] == "3,153" and outcomes["connection refused"] == "234"


def test_services_show_peak_queue_and_peak_utilisation(bundled_run):
    summary = bundled_run("db-slowdown").summary
    services = table(summary, "Services")
    auth, db = summary["services"]["auth"], summary["services"]["db"]
    assert row(services, "auth")["peak queue"] == f"{auth['peak_queue_length']:,}"
    assert row(services, "db")["peak util"] == "100.00 %"
    assert auth["peak_queue_length"] > 1000 > auth["mean_queue_length"]  # the mean hides it
    assert db["peak_utilization"] > 0.95 > db["utilization"]


def test_a_wide_table_is_split_into_tables_that_fit(bundled_run):
    headers = ["name", *(f"column number {i}" for i in range(12))]
    rows = [["a hop with a long name", *(f"{i * 1000:,}" for i in range(12))]]
    groups = column_groups(headers, rows, 100)
    assert len(groups) > 1 and all(g[0] == 0 for g in groups)
    assert sorted(i for g in groups for i in g[1:]) == list(range(1, 13))
    lines = fitted_table(headers, rows)
    assert max(len(line) for line in lines) <= 100
    assert sum(line.startswith("a hop with a long name") for line in lines) == len(groups)


def test_summary_json_holds_the_new_counts_and_keeps_the_old(bundled_run, tmp_path):
    result = bundled_run("reference")
    data = json.loads(summary_json(result))
    assert data["narrative"] and all(isinstance(s, str) for s in data["narrative"])
    assert {k: v for k, v in data.items() if k != "narrative"} == json.loads(result.to_json())
    for svc in data["services"].values():
        assert {"peak_queue_length", "peak_queue_at_s", "peak_utilization", "capacity"} <= set(svc)
        assert svc["peak_utilization"] >= svc["utilization"]
        assert svc["peak_queue_length"] >= svc["mean_queue_length"]
    breaker = data["edges"]["gateway->auth"]["breakers"]["gateway->auth"]
    assert [p["state"] for p in breaker["periods"]] == [s for _, s in breaker["transitions"]]
    assert sum(p["rejected"] for p in breaker["periods"]) == breaker["rejected"]
    assert breaker["periods"][0]["to_s"] == breaker["periods"][1]["from_s"]
    assert all("wasted_work_s" in edge for edge in data["edges"].values())


def test_wasted_work_per_hop_adds_up_to_the_callee(bundled_run):
    summary = bundled_run("db-slowdown").summary
    for service, svc in summary["services"].items():
        into = [e for name, e in summary["edges"].items() if name.endswith(f"->{service}")]
        assert sum(e["wasted_work_s"] for e in into) == pytest.approx(svc["wasted_work_s"])
    assert summary["edges"]["auth->db"]["wasted_work_s"] > 100  # the database's wasted work


def test_the_html_report_shows_the_same_tables(bundled_run, tmp_path):
    result = bundled_run("reference")
    page = Tables((write_run_report(result, tmp_path)[-1]).read_text())
    for found in run_tables(result.summary):
        html = page.table(*found.headers[:2])
        assert html[0] == found.headers
        assert html[1:] == found.rows


def test_a_summary_without_the_new_keys_still_renders(bundled_run):
    """Summaries written before these keys existed (or built by hand) still render."""
    result = bundled_run("steady")
    old = json.loads(result.to_json())
    for svc in old["services"].values():
        for key in ("peak_queue_length", "peak_queue_at_s", "peak_utilization", "capacity"):
            svc.pop(key)
    for edge in old["edges"].values():
        edge.pop("wasted_work_s")
    text = summary_text(dataclasses.replace(result, summary=old))
    assert "Services" in text and "Hops" in text


def test_a_wrapped_sentence_keeps_each_number_with_its_unit():
    for unit in ("%", "s", "ms", "req/s", "pp"):
        for pad in range(88, 100):
            lines = paragraph("x" * pad + f" 4.54 {unit} and more")
            assert all(not line.strip().startswith(unit + " ") for line in lines[1:]), lines
            assert all(len(line) <= 100 for line in lines)
