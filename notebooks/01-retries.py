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
# # 01 · Retries: amplification, storms, backoff and jitter, budgets
#
# A retry turns a failed attempt into another attempt. If each attempt fails independently with
# probability $p$ and a call makes at most $n$ attempts in all,
#
# $$P(\text{success}) = 1 - p^n, \qquad
#   E[\text{attempts}] = 1 + p + \dots + p^{n-1} = \frac{1 - p^n}{1 - p}.$$
#
# The second number is the **amplification**: the load the callee sees per client request.
# Retries at two layers multiply: $n_1$ attempts at the gateway and $n_2$ at auth can reach the
# database $n_1 n_2$ times per request. This notebook checks the formulas against the
# simulator, then shows when retries stop helping: when the failures are caused by load.
#
# It runs in about 20 s of CPU: the runs are shorter than the bundled files (say 30 s of
# simulated time instead of 90 s), set with `simulator.with_changes`.

# %%
# %matplotlib inline
import itertools

import ipywidgets as widgets
from IPython.display import display

import simulator
from simulator import plots

# %% [markdown]
# ## Independent failures: the formulas
#
# auth fails 30 % of its calls with a 503 for the whole run (an `errors` fault), independently
# of load. The gateway makes up to 3 attempts, 10 ms apart.

# %%
ERRORS = """
version = 1
name = "independent failures"
duration = "20s"

[workload]
rate = 200

[services.gateway]
workers = 8
hold_worker_during_calls = false
[services.gateway.routes."POST /license/activate"]
steps = [{ call = "auth", route = "POST /activate" }]

[services.auth]
instances = 2
workers = 16
[services.auth.routes."POST /activate"]
steps = [{ work = { dist = "lognormal", median = "3ms", p99 = "15ms" } }]

[policies."gateway->auth"]
timeout = "1s"
retry = { max_attempts = 3, backoff = { kind = "constant", base = "10ms" } }

[[faults]]
kind = "errors"
target = "auth"
start = "0s"
duration = "20s"
rate = 0.3
status = 503
"""
independent = simulator.loads_scenario(ERRORS)

# %% [markdown]
# ### Predict
#
# With $p = 0.3$ and $n = 3$: what share of activations succeed, and how many attempts does auth
# see per activation? Store two numbers.

# %%
my_success_ratio = 0.90  # <- your prediction, 0 to 1
my_attempts = 1.5  # <- your prediction: attempts per request

# %%
measured = simulator.run_metrics(simulator.run(independent, seed=1))
p, n = 0.3, 3
theory_success = 1 - p**n
theory_attempts = (1 - p**n) / (1 - p)
print(
    f"success ratio: measured {measured['success_ratio']:.4f}, theory 1 - p^n = {theory_success:.4f}"
)
print(
    f"attempts per request: measured {measured['gateway->auth.amplification']:.4f}, "
    f"theory (1 - p^n)/(1 - p) = {theory_attempts:.4f}"
)

# %% [markdown]
# ### Check

# %%
for name, guess, value in (
    ("success ratio", my_success_ratio, measured["success_ratio"]),
    ("attempts per request", my_attempts, measured["gateway->auth.amplification"]),
):
    verdict = "right" if abs(guess - value) <= 0.02 * value else "off"
    print(f"{name}: you said {guess}, the run measured {value:.3f}: {verdict}.")
print(
    "Why: a request fails only if all 3 attempts fail (0.3^3 = 2.7 %), and it makes a second "
    "attempt with probability 0.3 and a third with 0.3^2, so 1 + 0.3 + 0.09 = 1.39 attempts."
)

# %% [markdown]
# ### A slider: the number of attempts
#
# Move it (in a live kernel) to see how the success ratio and the amplification grow with $n$.
# Each position is a 5-second run. Headless, the cell runs once with the default.


# %%
def attempts_run(attempts: int = 3) -> None:
    scenario = simulator.with_changes(
        independent,
        {"duration": 5, 'policies."gateway->auth".retry.max_attempts': attempts},
    )
    m = simulator.run_metrics(simulator.run(scenario, seed=1))
    print(
        f"n = {attempts}: success {m['success_ratio']:.2%} (theory {1 - p**attempts:.2%}), "
        f"attempts {m['gateway->auth.amplification']:.3f} "
        f"(theory {(1 - p**attempts) / (1 - p):.3f})"
    )


display(
    widgets.interactive(attempts_run, attempts=widgets.IntSlider(3, 1, 6, continuous_update=False))
)

# %% [markdown]
# ## A retry storm: when failures come from load
#
# `scenarios/retry-storm.toml`: 3 attempts at the gateway and 3 at auth, a database that gets
# slower with every request in flight (`load_slope`), and a 5 s, 30x slowdown from 20 s to 25 s.
# We run 40 s of it instead of 90 s.
#
# ### Predict
#
# Which of the file's three variants have their goodput back within 10 s of the fault's end?
#
# * **a**: all three: the fault lasts only 5 s
# * **b**: "no retry" and "retry budget", not "retries at both hops"
# * **c**: only "no retry"

# %%
my_storm_answer = "a"  # <- "a", "b" or "c"

# %%
storm_file = simulator.load_scenario_set("../scenarios/retry-storm.toml")
storms = {}
for name in ("retries at both hops", "no retry", "retry budget"):
    short = simulator.with_changes(storm_file, {"duration": 40}, variant=name)
    storms[name] = simulator.run(short, seed=1)
display(plots.timeline(storms["retries at both hops"]))

# %% [markdown]
# ### Check

# %%
recovered = {}
for name, result in storms.items():
    m = simulator.run_metrics(result)
    recovered[name] = m["recovered"] and m["recovery_s"] <= 10
    when = f"{m['recovery_s']:.0f} s after the fault" if m["recovered"] else "never"
    print(
        f"{name:22} recovered: {when:22} db attempts per request "
        f"{m['auth->db.amplification']:.2f}, wasted work {m['wasted_work_s']:.0f} s"
    )
correct = {(False, True, True): "b", (False, True, False): "c"}.get(
    tuple(recovered.values()), "a" if all(recovered.values()) else "?"
)
print(f"\nThe answer is {correct!r}; you said {my_storm_answer!r}.")
print(
    "Why: the slowdown makes requests time out; each timeout at the gateway becomes up to 3 "
    "attempts at auth, each up to 3 at the database. The callers give up but the database "
    "works on (wasted work), stays slow, and more requests time out: the retries alone keep it "
    "overloaded after the trigger is gone. A budget caps retries at 10 % of requests."
)

# %% [markdown]
# ## Backoff and jitter
#
# When many clients fail *together* (an outage that ends at one instant), exponential backoff
# without jitter brings their retries back together too: waves at 1 s, 2 s, 4 s after each
# failure. **Full jitter** (AWS) draws each delay uniformly from $[0, \min(\text{cap}, b \cdot
# 2^k)]$, spreading the wave. `scenarios/backoff-and-jitter.toml`: auth is down from 10 s to
# 15 s, 4 attempts with 1 s, 2 s, 4 s backoff.
#
# ### Predict
#
# The arrival rate at auth is counted per 250 ms bucket. During the outage and just after it
# (10 s to 20 s), how large is the biggest jump from one bucket to the next with full jitter,
# compared with no jitter?
#
# * **a**: about the same
# * **b**: at most two thirds of it: the waves are smoothed out

# %%
my_jitter_answer = "a"  # <- "a" or "b"

# %%
jitter_file = simulator.load_scenario_set("../scenarios/backoff-and-jitter.toml")
waves = {
    name: simulator.run(jitter_file.scenario(name), seed=1) for name in ("no jitter", "full jitter")
}
display(plots.timeline(waves["no jitter"]))
display(plots.timeline(waves["full jitter"]))

# %% [markdown]
# ### Check


# %%
def window(result: simulator.RunResult, start: float = 10, end: float = 20) -> list[float]:
    """auth's arrival rate per bucket from ``start`` to ``end``."""
    times, rates = result.timeseries["time"], result.timeseries["auth.arrivals_rps"]
    return [float(r) for t, r in zip(times, rates, strict=True) if start <= t < end]


def biggest_jump(rates: list[float]) -> float:
    return max(abs(b - a) for a, b in itertools.pairwise(rates))


jumps = {name: biggest_jump(window(result)) for name, result in waves.items()}
means = {name: sum(window(result)) / len(window(result)) for name, result in waves.items()}
ratio = jumps["full jitter"] / jumps["no jitter"]
correct = "b" if ratio <= 2 / 3 else "a"
for name in waves:
    print(
        f"{name:12} biggest jump {jumps[name]:4.0f} req/s, mean arrivals {means[name]:4.0f} req/s"
    )
print(
    f"The answer is {correct!r} (full jitter's biggest jump is {ratio:.0%} of no jitter's); you said {my_jitter_answer!r}."
)
print(
    "Why: without jitter every request that failed at the same moment retries at the same "
    "moment, so the load comes in steps 1 s, 2 s and 4 s after the failures; full jitter draws "
    "each delay from [0, 2^k s], which spreads the steps out. Its delays are shorter on average "
    "(half the cap), so the mean load during the outage is higher: equal jitter and "
    "decorrelated jitter (the file's other variants) trade the two."
)

# %% [markdown]
# ## Retry budgets
#
# A budget lets the occasional unlucky request retry but refuses retries when many fail: the
# Google SRE rule retries only while retries stay under 10 % of requests. In
# `scenarios/retry-budgets.toml` the database fails half its writes for 20 s, and auth makes up
# to 4 attempts. We compare the base (no budget) with the 10 % ratio budget, 2 replications each
# on common random numbers, over 40 s instead of 60 s.

# %%
budget_file = simulator.load_scenario_set("../scenarios/retry-budgets.toml")
short_budgets = simulator.loads_scenario_set(
    budget_file.text.replace('duration = "60s"', 'duration = "40s"')
)
budgets = simulator.compare(
    short_budgets, replications=2, variants=["no budget", "ratio"], executor=1
)
display(plots.amplification_chart(budgets))

# %%
for name in ("no budget", "ratio"):
    amp = budgets.interval(name, "auth->db.amplification")
    ok = budgets.interval(name, "success_ratio")
    print(f"{name:10} db attempts per request {amp.mean:.2f}, success {ok.mean:.2%}")

# %% [markdown]
# Without a budget, 4 attempts at $p = 0.5$ give $(1 - 0.5^4)/(1 - 0.5) = 1.875$ attempts per
# request during the fault; the budget holds the extra load near 10 %, at the price of a lower
# success ratio during the fault. That is the trade: retries hide *rare, independent* failures,
# and amplify *widespread* ones.
#
# ## What to take away
#
# * $1 - p^n$ and $(1 - p^n)/(1 - p)$ hold when failures are independent; the simulator agrees.
# * When failures come from overload, retries are more load on the thing that is overloaded; at
#   two layers they multiply, and can keep a system down after the trigger (notebook 06).
# * Jitter breaks up synchronised retries; budgets cap the extra load.
# * Try the challenge: `simulator check ../challenges/retry-storm.toml`.
