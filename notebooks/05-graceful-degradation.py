# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Graceful degradation: partial answers, fallbacks, bulkheads
#
# The reference gateway's `GET /dashboard` asks auth and admin for their stats **in parallel**,
# each with a 3 s timeout, and returns whatever it got. A fan-out is as slow as its slowest
# branch:
#
# $$T_{\text{fan-out}} = \max(T_1, T_2, \dots),$$
#
# so one slow dependency makes the whole answer slow, and one failed dependency makes it fail,
# unless the route *degrades*: answers with the parts it has, marked as partial. Fallbacks
# (a canned answer when a call fails) and bulkheads (a cap on concurrent calls, so one slow
# dependency cannot take every worker) are the other tools of the same family. About 15 s of CPU.

# %%
# %matplotlib inline
from IPython.display import display

import simulator
from simulator import plots

# %% [markdown]
# ## The dashboard through an auth outage
#
# `scenarios/reference.toml`: 5 % of the requests are dashboard views; auth is down from 20 s to
# 50 s, and the gateway's opossum breaker opens a few seconds in and stays open for 30 s. In
# normal times auth's stats take about 7 ms (5 ms of work and a database read) and admin's 20 ms.
#
# ### Predict
#
# 1. The median latency of a full dashboard answer, in milliseconds? Store a number.
# 2. What share of the dashboard answers are degraded (missing auth's stats) over the 120 s run?
#    Store a number from 0 to 1.

# %%
my_dashboard_p50_ms = 27.0  # <- your prediction
my_degraded_share = 0.5  # <- your prediction

# %%
reference = simulator.load_scenario_set("../scenarios/reference.toml")
degrading = simulator.run(reference.base, seed=1)
display(plots.timeline(degrading))

# %% [markdown]
# ### Check

# %%
dashboard = degrading.summary["routes"]["GET /dashboard"]
p50_ms = dashboard["latency_s"]["success"]["p50"] * 1000
degraded = dashboard["degraded_ratio"]
print(
    f"1. p50 of a full dashboard: {p50_ms:.1f} ms; you said {my_dashboard_p50_ms:.0f} ms: "
    f"{'right' if abs(p50_ms - my_dashboard_p50_ms) <= 3 else 'off'}."
)
print("   Why: the slower branch sets it: admin's 20 ms of work plus the network, not 7 + 20 ms.")
print(
    f"2. degraded: {degraded:.1%} ({dashboard['outcomes']['degraded']} of {dashboard['completed']}),"
    f" missing {dict(dashboard['missing'])}; you said {my_degraded_share:.0%}: "
    f"{'right' if abs(degraded - my_degraded_share) <= 0.05 else 'off'}."
)
breaker = degrading.summary["edges"]["gateway->auth"]["breakers"]["gateway->auth"]
closed_at = max(p["from_s"] for p in breaker["periods"] if p["state"] == "closed")
print(
    f"   Why: auth's stats are missing from 20 s until the breaker closes at {closed_at:.0f} s: "
    f"{closed_at - 20:.0f} s of 120 s = {(closed_at - 20) / 120:.1%}."
)

# %% [markdown]
# ## Without degradation
#
# The same run with `degrade = false` on the fan-out (the step fails when any call fails), on
# the same random numbers:

# %%
strict_steps = [
    {
        "parallel": [
            {"call": "auth", "route": "GET /stats", "timeout": "3s"},
            {"call": "admin", "route": "GET /stats", "timeout": "3s"},
        ],
        "degrade": False,
    }
]
strict = simulator.run(
    simulator.with_changes(
        reference, {'services.gateway.routes."GET /dashboard".steps': strict_steps}
    ),
    seed=1,
)
failed = strict.summary["routes"]["GET /dashboard"]
print(
    f"degrade = false: {failed['success_ratio']:.1%} of dashboards answered, the rest failed; "
    f"degrade = true: {dashboard['success_ratio'] + dashboard['degraded_ratio']:.1%} answered "
    f"({dashboard['degraded_ratio']:.1%} of them partial)"
)

# %% [markdown]
# ## Fallbacks and bulkheads in front of a slow service
#
# `scenarios/load-shedding.toml`: from 20 s to 40 s auth answers about 300 ms late, and the
# gateway gives it 250 ms. Its variants protect the gateway in different ways:
#
# * `bulkhead` (Hystrix's semaphore: 10 calls at once): calls beyond it fail at once, so auth
#   is not flooded with work nobody waits for;
# * `fallback`: a failed call is answered with a canned 200 (a cached or default answer);
# * `hedging`: a second attempt after 50 ms, the first answer wins.
#
# ### Predict
#
# Which variant wastes the **least** work at auth (work for calls the gateway had given up on)?
# **a** unprotected, **b** bulkhead, **c** fallback.

# %%
my_waste_answer = "c"  # <- "a", "b" or "c"

# %%
shedding = simulator.load_scenario_set("../scenarios/load-shedding.toml")
choices = {"a": "unprotected", "b": "bulkhead", "c": "fallback"}
protected = {name: simulator.run(shedding.scenario(name), seed=1) for name in choices.values()}
display(plots.timeline(protected["bulkhead"]))

# %% [markdown]
# ### Check

# %%
for name, result in protected.items():
    m = simulator.run_metrics(result)
    hop = result.summary["edges"]["gateway->auth"]
    print(
        f"{name:12} success {m['success_ratio']:6.1%}  auth's wasted work {m['auth.wasted_work_s']:6.1f} s  "
        f"bulkhead refusals {hop['bulkhead_rejections']:5,}  fallbacks {hop['fallbacks']:5,}"
    )
least = min(
    choices.values(), key=lambda n: simulator.run_metrics(protected[n])["auth.wasted_work_s"]
)
correct = next(letter for letter, name in choices.items() if name == least)
print(f"\nThe least wasted work: {least} ({correct!r}); you said {my_waste_answer!r}.")
print(
    "Why: a fallback changes what the *client* sees (every request gets a 200), not what auth "
    "does: every call is still made, times out and leaves its work behind. A bulkhead refuses "
    "calls beyond 10 in flight, so auth receives less work that nobody will wait for. Degrading "
    "and falling back hide a failure from the user; only shedding load helps the dependency."
)

# %% [markdown]
# ## What to take away
#
# * A fan-out is as slow as its slowest branch, and fails with any branch unless it degrades.
# * A degraded answer is not a failure, but count it apart (the summary's `degraded`).
# * Fallbacks protect the user, bulkheads protect the dependency (and the caller's workers).
# * Try the challenge: `simulator check ../challenges/dashboard.toml`.
