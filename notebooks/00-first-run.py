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
# ---

# %% [markdown]
# # 00 · First run: the reference chain, a fault, a timeline, one request
#
# A license activation travels **client → API gateway → auth service → database**. Every hop
# takes time, every service has a limited number of workers or connections, and faults are
# injected on a schedule. This notebook runs the chain, looks at it, and checks one law that
# every stable system obeys.
#
# Everything here uses the public API: `import simulator` (runs, comparisons, sweeps, traces)
# and `simulator.plots` (charts). The whole notebook runs in about 10 s of CPU.

# %%
# %matplotlib inline
from IPython.display import display

import simulator
from simulator import plots, report

# %% [markdown]
# ## A steady run, and Little's law
#
# `scenarios/steady.toml` sends 200 requests a second through the chain with no fault. We run
# 20 simulated seconds of it (the file says 2 minutes: a shorter run is enough here and takes
# under a second).
#
# **Little's law**: in any stable system, the average number of requests inside it equals the
# arrival rate times the average time each one spends there,
#
# $$L = \lambda \, W.$$
#
# The database answers a write in about 6 ms on average (waiting included) and receives about
# 200 writes a second.

# %% [markdown]
# ### Predict
#
# How many writes are inside the database on average, waiting or being served? Write a number.

# %%
my_guess_in_db = 10.0  # <- your prediction: requests in the database on average

# %%
steady = simulator.with_changes(
    simulator.load_scenario("../scenarios/steady.toml"), {"duration": 20}
)
result = simulator.run(steady, seed=1)
db = result.summary["services"]["db"]
arrival_rate = db["admitted_rate_rps"]
time_inside = db["mean_wait_s"] + db["mean_time_in_service_s"]
print(f"arrival rate λ = {arrival_rate:.1f} /s, time inside W = {time_inside * 1000:.2f} ms")
print(f"measured L = {db['mean_in_system']:.3f}, λ·W = {arrival_rate * time_inside:.3f}")

# %% [markdown]
# ### Check

# %%
measured = db["mean_in_system"]
theory = arrival_rate * time_inside
off = abs(my_guess_in_db - measured) / measured
verdict = "right (within 25 %)" if off <= 0.25 else f"off by {off:.0%}"
print(f"You guessed {my_guess_in_db}; the database held {measured:.2f} on average: {verdict}.")
print(
    f"Little's law predicts λ·W = {arrival_rate:.0f}/s × {time_inside * 1000:.1f} ms = {theory:.2f};"
    f" the simulator measured {measured:.2f} ({abs(theory - measured) / measured:.1%} apart)."
)
assert abs(theory - measured) / measured < 0.05, "Little's law should hold in a stable run"

# %% [markdown]
# ## The reference system through an outage
#
# `scenarios/reference.toml` is the whole reference configuration: cascading timeouts, 3
# attempts with exponential backoff, the opossum circuit breaker, deduplication, a keep-alive
# pool, and a `/dashboard` route that fans out to auth and admin. From 20 s to 50 s **auth
# refuses every connection**.
#
# ### Predict
#
# The breaker (opossum) opens when more than half the recent calls fail, then stays open for
# `resetTimeout` = 30 s before it tries auth again. When is goodput back after the outage ends
# at 50 s?
#
# * **a**: at once, at 50 s
# * **b**: a few seconds after 50 s
# * **c**: not before about 54 s: the breaker opened near 24 s and waits 30 s

# %%
my_answer_recovery = "a"  # <- "a", "b" or "c"

# %%
reference = simulator.load_scenario("../scenarios/reference.toml")
outage = simulator.run(reference, seed=1)
display(plots.timeline(outage))

# %% [markdown]
# The top panel is offered load (dashed), goodput and errors with the outage shaded; the band
# below it shows the breaker's state (closed, open, half-open). The summary, as the terminal
# prints it, starts with what happened:

# %%
print(report.summary_text(outage).split("\n\n")[1])

# %% [markdown]
# ### Check

# %%
metrics = simulator.run_metrics(outage)
recovered_at = 50 + metrics["recovery_s"] if metrics["recovered"] else None
breaker = outage.summary["edges"]["gateway->auth"]["breakers"]["gateway->auth"]
opened = min(p["from_s"] for p in breaker["periods"] if p["state"] == "open")
correct = "c" if recovered_at is not None and recovered_at >= opened + 29 else "b"
print(f"The breaker first opened at {opened:.1f} s; goodput was back at {recovered_at:.1f} s.")
print(
    f"The answer is {correct!r}; you said {my_answer_recovery!r}: "
    + ("right." if my_answer_recovery == correct else "not quite.")
)
print(
    "Why: while the breaker is open it refuses calls without trying auth, so it cannot notice"
    " that auth is back until its reset time runs out and a probe succeeds."
)

# %% [markdown]
# ## One request, hop by hop
#
# `simulator.trace` runs the same scenario with a sample of request traces kept (the run is
# otherwise identical). Here: the first request that failed. Every line is one attempt on one
# hop, with its status and what each policy did, as the reference system's `X-Request-ID` logs
# would show it.

# %%
_, traces = simulator.trace(reference, seed=1, sampler=simulator.TraceSampler(failed=1))
print(report.trace_text(traces))
display(plots.swimlane(traces[0]))

# %% [markdown]
# And the latency distribution of the whole run (successes and all completions):

# %%
display(plots.latency_distribution(outage))

# %% [markdown]
# ## What to take away
#
# * A run is data: `result.summary` (what `summary.json` holds) and `result.timeseries`.
# * Little's law ties together rate, time and queue length; the simulator obeys it.
# * A breaker protects, but it also decides when traffic comes back: next, notebook 03.
# * Next: `01-retries`.
