# ---
# jupyter:
#   jupytext:
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
# # Comparing retry strategies through a database brownout
#
# A license-activation request travels **client → API gateway → auth service → database**. For
# ten seconds the database gets 30 times slower. The gateway gives auth 1 s to answer. Should the
# gateway retry when that second runs out? With or without jitter? Behind a retry budget or a
# circuit breaker?
#
# Intuition says retries help: a request that failed once may succeed the second time. This
# notebook measures what they really do, and shows how to trust the measurement:
#
# 1. run the system once and look at it;
# 2. run each strategy several times on **common random numbers** and compare them with
#    confidence intervals;
# 3. move a slider to change the number of attempts and watch the system respond.
#
# Everything here runs in well under a minute on a laptop.

# %%
# %matplotlib inline
import ipywidgets as widgets
from IPython.display import display

import simulator
from simulator.experiment.replicate import run_metrics
from simulator.metrics.catalog import describe_metric
from simulator.plots import compare_charts, timeline
from simulator.report import comparison_text
from simulator.scenario.variants import deep_merge

# %% [markdown]
# ## The system and the fault
#
# A scenario is a TOML file (here a string, so that this notebook needs nothing else). The
# gateway is an event loop (Node.js); auth holds a worker thread while it waits for the database;
# the database has 20 connections and slows down a little more with every request it has in
# flight, waiting or served (`load_slope`), so that overload feeds itself, as in real databases.
#
# The `[variants]` tables at the end are the strategies to compare. Each one is a set of
# overrides merged into the base scenario: only the gateway's policies towards auth change.

# %%
SCENARIO = """
version = 1
name = "retries through a brownout"
duration = "40s"
seed = 1
goals = ["error_ratio <= 30%", "p99 <= 2s", "recovery_s <= 5s"]

[workload]
rate = 120                          # requests per second (Poisson arrivals)

[services.gateway]
workers = 8
hold_worker_during_calls = false    # an event loop: calls do not hold a worker
[services.gateway.routes."POST /license/activate"]
steps = [{ work = { dist = "exponential", mean = "1ms" } }, { call = "auth", route = "POST /activate" }]

[services.auth]
instances = 2
workers = 16                        # thread per request
[services.auth.routes."POST /activate"]
steps = [{ work = { dist = "lognormal", median = "3ms", p99 = "15ms" } }, { call = "db", route = "write" }]

[services.db]
kind = "database"
connections = 20
load_slope = "0.6ms"                # every request in flight adds 0.6 ms to every write
operations = { write = { dist = "lognormal", median = "5ms", p99 = "25ms" } }

[policies."gateway->auth"]
timeout = "1s"                      # one attempt, 1 s to answer

[[faults]]
kind = "brownout"
target = "db"
start = "10s"
duration = "10s"
slowdown = 30                       # database operations 30 times slower

[variants."no retry"]

[variants."retry, no jitter".policies."gateway->auth"]
retry = { max_attempts = 3, backoff = { kind = "exponential", base = "100ms", multiplier = 2 } }

[variants."retry + budget".policies."gateway->auth"]
retry = { max_attempts = 3, backoff = { kind = "exponential", base = "100ms", multiplier = 2, jitter = "full" } }
retry_budget = { kind = "ratio", max_ratio = 0.1 }

[variants."retry + breaker".policies."gateway->auth"]
retry = { max_attempts = 3, backoff = { kind = "exponential", base = "100ms", multiplier = 2, jitter = "full" } }
breaker = { preset = "opossum", half_open_after = "5s" }
"""

scenarios = simulator.loads_scenario_set(SCENARIO)
print("variants:", ", ".join(scenarios.names))

# %% [markdown]
# ## One run, looked at closely
#
# First the strategy most code starts with: three attempts with exponential backoff. The
# timeline shows offered load (dashed), goodput (successful requests per second) and errors,
# with the brownout shaded.

# %%
retrying = simulator.run(scenarios.scenario("retry, no jitter"), seed=1)
display(timeline(retrying))
first = run_metrics(retrying)
for key in ("success_ratio", "gateway->auth.amplification"):
    about = describe_metric(key)  # the label and unit the reports use for this metric
    print(f"{about.label}: {about.format(first[key])}")

# %% [markdown]
# Goodput collapses when the database slows down, as expected. Look at what happens **after**
# the fault ends at 20 s: does goodput come straight back? Every timed-out attempt left work
# behind in auth and the database (the caller gave up, the callee did not), and every retry added
# more. One run cannot tell us whether that is the retries' fault or bad luck, so we compare.

# %% [markdown]
# ## A fair comparison: replications on common random numbers
#
# `simulator.compare` runs each variant several times. Replication *i* of **every** variant uses
# the same seed (1 + *i*), so every variant sees exactly the same arrivals and the same
# first-attempt service times: only the policy differs. The difference between two variants is
# then measured *pair by pair*, which gives much narrower intervals than comparing two
# independent averages.

# %%
comparison = simulator.compare(scenarios, replications=4)
print(comparison_text(comparison))

# %% [markdown]
# Read the `vs baseline` column: each figure is a paired difference against "no retry", with its
# 95 % confidence interval; a `*` marks an interval that excludes zero, a difference the
# replications can vouch for. A difference of two ratios is in percentage points (`pp`): from
# 90 % to 95 % is +5 pp. `best` marks the variant with the best mean, for metrics where more (or
# less) is better. The same numbers as charts:

# %%
display(compare_charts.metric_bars(comparison))

# %%
display(compare_charts.difference_chart(comparison))

# %% [markdown]
# ### Where the extra load comes from
#
# *Amplification* is the number of attempts a hop makes per client request. Without retries it
# is 1. With three attempts it can approach 3 during the fault, and the database has to serve
# all of them: the very retries meant to hide the brownout make it worse and longer.

# %%
display(compare_charts.amplification_chart(comparison))

# %% [markdown]
# ### Latency: the tail tells the story
#
# The left panel is the latency CDF of successful requests; the right one shows the share of
# requests slower than each latency on a log scale, where p99 and p99.9 live. A success that
# needed a retry took at least one full timeout (1 s) plus the backoff.

# %%
display(compare_charts.latency_cdf(comparison))

# %% [markdown]
# ### Goals
#
# The scenario states three goals. In a comparison each goal is judged on the mean over the
# replications, and the share of replications that met it is shown too.

# %%
for goal in comparison.goals:
    print(goal.describe())

# %% [markdown]
# ## Your turn: how many attempts?
#
# The slider re-runs the "retry, no jitter" variant with the number of attempts you choose (1
# means no retry). Watch the recovery after 20 s and the attempts per request. *(Sliders need a
# live kernel; a static version of the same question follows.)*


# %%
def with_attempts(attempts: int) -> simulator.Scenario:
    """The "retry, no jitter" variant with another number of attempts."""
    data = deep_merge(
        scenarios.raw_of("retry, no jitter"),
        {"policies": {"gateway->auth": {"retry": {"max_attempts": attempts}}}},
    )
    return simulator.parse_scenario(data)


def show(attempts: int = 3) -> None:
    result = simulator.run(with_attempts(attempts), seed=1)
    metrics = run_metrics(result)
    shown = ("success_ratio", "latency_p99_s", "gateway->auth.amplification")
    parts = [f"{describe_metric(k).label} {describe_metric(k).format(metrics[k])}" for k in shown]
    recovery = metrics["recovery_s"]
    parts.append(
        "did not recover"
        if recovery is None
        else f"recovered {describe_metric('recovery_s').format(recovery)} after the fault"
    )
    print(f"{attempts} attempt(s): " + ", ".join(parts))
    display(timeline(result))


slider = widgets.IntSlider(value=3, min=1, max=5, description="attempts", continuous_update=False)
display(widgets.interactive(show, attempts=slider))

# %% [markdown]
# ### The same question without a slider: a sweep
#
# `simulator.sweep` runs a grid of values for any key of the scenario (here the number of
# attempts), with replications, and draws the metric with its confidence band.

# %%
attempts = simulator.sweep(
    scenarios,
    {'policies."gateway->auth".retry.max_attempts': [1, 2, 3, 5]},
    variants=["retry, no jitter"],
    replications=2,
)
display(compare_charts.sweep_chart(attempts, metric="goodput"))

# %% [markdown]
# ## The raw numbers
#
# Every result is plain data. `rows()` gives one tidy row per variant and replication, and
# `to_frame()` the same as a pandas DataFrame, ready for your own analysis.

# %%
frame = comparison.to_frame()
frame.groupby("variant")[["goodput_rps", "latency_p99_s", "gateway->auth.amplification"]].mean()

# %% [markdown]
# ## What to take away
#
# * Retries are extra load. When a dependency fails **because it is overloaded**, retrying
#   multiplies the load on it exactly when it can least take it, and can keep it down after the
#   trigger is gone.
# * Jitter spreads retries out in time; it matters when many clients fail *together* (an outage
#   that ends at one instant), less when the failures are caused by load.
# * A **retry budget** keeps the benefit of retrying the occasional unlucky request while capping
#   the extra load. A **circuit breaker** stops calling a dependency that is failing, so callers
#   fail fast (look at its p99) and the dependency is left alone to recover; the price is the
#   requests it turns away while open, some of which would have succeeded.
# * Compare strategies on common random numbers and read the interval of the *difference*, not
#   two overlapping bars.
#
# Try next: `simulator compare scenarios/compare-retries.toml --report out/retries` runs the full
# version of this comparison and writes a report you can open in a browser.
