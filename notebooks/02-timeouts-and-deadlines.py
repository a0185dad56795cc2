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
# # 02 · Timeouts and deadlines
#
# A timeout is a bet on a latency distribution: too short and healthy calls fail, too long and
# callers wait (and hold resources) for answers that will never be useful. This notebook
# chooses a timeout from a distribution, then looks at what a chain of timeouts does when one
# hop slows down, and at the gateway's own limit (HTTP 408).
#
# For a service whose time is exponential with mean $m$ (and no queueing), the chance that a
# call takes longer than a timeout $T$ is
#
# $$P(\text{timeout}) = e^{-T/m},$$
#
# so the timeout that fails a share $q$ of healthy calls is $T = m \ln(1/q)$. It runs in about
# 15 s of CPU.

# %%
# %matplotlib inline
import math

from IPython.display import display

import simulator
from simulator import plots

# %% [markdown]
# ## Choosing a timeout from the distribution
#
# auth takes an exponential time with mean $m$ = 100 ms; it has plenty of workers, so nobody
# waits; the network is instant. The gateway gives it $T$ = 200 ms.

# %%
EXPONENTIAL = """
version = 1
name = "exponential service"
duration = "30s"

[workload]
rate = 100

[services.gateway]
workers = 8
hold_worker_during_calls = false
[services.gateway.routes."POST /license/activate"]
steps = [{ call = "auth", route = "POST /activate" }]

[services.auth]
workers = 200                       # enough that nobody waits
[services.auth.routes."POST /activate"]
steps = [{ work = { dist = "exponential", mean = "100ms" } }]

[network]
default = "0s"

[policies."gateway->auth"]
timeout = "200ms"
"""
exponential = simulator.loads_scenario(EXPONENTIAL)

# %% [markdown]
# ### Predict
#
# What share of the calls time out? Store a number from 0 to 1.

# %%
my_timeout_share = 0.05  # <- your prediction

# %%
timed = simulator.run(exponential, seed=1)
hop = timed.summary["edges"]["gateway->auth"]
measured_share = hop["outcomes"]["timeout"] / hop["calls"]
theory_share = math.exp(-0.2 / 0.1)
print(
    f"timed out: {measured_share:.2%} of {hop['calls']:,} calls; theory e^(-T/m) = {theory_share:.2%}"
)

# %% [markdown]
# ### Check

# %%
verdict = "right" if abs(my_timeout_share - measured_share) <= 0.02 else "off"
print(f"You said {my_timeout_share:.0%}; the run measured {measured_share:.1%}: {verdict}.")
print(
    "Why: a timeout of twice the mean is not generous for an exponential service: "
    f"e^-2 = {theory_share:.1%} of healthy calls take longer. The memoryless tail decays slowly."
)

# %% [markdown]
# ### The empirical way: read the timeout off the latency distribution
#
# Real latencies are rarely exponential. Run without a timeout, and read the quantile: the p99
# is the timeout that fails 1 % of healthy calls. Theory says $m \ln 100$ = 461 ms here.

# %%
untimed = simulator.run(
    simulator.with_changes(exponential, {'policies."gateway->auth".timeout': "none"}), seed=1
)
display(plots.latency_distribution(untimed))
p99 = untimed.summary["latency_s"]["success"]["p99"]
print(f"p99 of the latency: {p99 * 1000:.0f} ms (theory {100 * math.log(100):.0f} ms)")

# %% [markdown]
# ## Cascading timeouts vs deadline propagation vs cancel
#
# The reference system cascades: client 30 s > gateway 25 s > auth 20 s > database 15 s. Each
# hop knows only its own limit. In `scenarios/timeouts-and-deadlines.toml` the client (a mobile
# app) waits only 2 s, and the database slows down 40x from 20 s to 35 s. When the client gives
# up, the gateway, auth and the database do not know: they keep working for a caller who has
# gone (**wasted work**). The variants:
#
# * `propagate`: each hop passes on the time left (gRPC, Google SRE); a hop refuses work whose
#   deadline has passed;
# * `cancel`: when the client's timeout fires, the work it started is cancelled down the chain.
#
# ### Predict
#
# Which wastes the least work: **a** cascading timeouts, **b** propagate, **c** cancel?

# %%
my_waste_answer = "b"  # <- "a", "b" or "c"

# %%
deadlines = simulator.load_scenario_set("../scenarios/timeouts-and-deadlines.toml")
names = {"a": "cascading timeouts", "b": "propagate", "c": "cancel"}
chains = {name: simulator.run(deadlines.scenario(name), seed=1) for name in names.values()}
display(plots.timeline(chains["cascading timeouts"]))

# %% [markdown]
# ### Check

# %%
wasted = {}
for name, result in chains.items():
    m = simulator.run_metrics(result)
    wasted[name] = m["wasted_work_s"]
    per_service = ", ".join(
        f"{svc} {m[f'{svc}.wasted_work_s']:.0f} s" for svc in ("gateway", "auth", "db")
    )
    print(
        f"{name:19} wasted {m['wasted_work_s']:6.1f} s ({per_service}); success {m['success_ratio']:.1%}"
    )
least = min(wasted, key=wasted.get)
correct = next(letter for letter, name in names.items() if name == least)
print(f"\nThe least waste: {least} ({correct!r}); you said {my_waste_answer!r}.")
print(
    "Why: with cascading timeouts auth waits up to 20 s for the database, long after the "
    "client left at 2 s. Propagating the deadline lets every hop stop waiting when the client "
    "does, and refuse work that arrives too late; cancelling stops the work already started. "
    "Each removes a different part of the waste: look at where it was, service by service."
)

# %% [markdown]
# ## The gateway's own limit: 408
#
# The reference gateway gives each request 30 s (`request_timeout`) and answers **408 Request
# Timeout** when they run out, whatever its calls are doing. Here it gives 1 s, and from 5 s to
# 15 s auth answers 1.5 s late (a `latency` fault).
#
# ### Predict
#
# What does the client get for the requests that arrive during the fault? **a** 504, **b** 408, **c** 503.

# %%
my_status_answer = "a"  # <- "a", "b" or "c"

# %%
GATEWAY_408 = """
version = 1
name = "the gateway's 408"
duration = "20s"

[workload]
rate = 100

[services.gateway]
workers = 8
hold_worker_during_calls = false
request_timeout = "1s"              # the gateway's own limit
[services.gateway.routes."POST /license/activate"]
steps = [{ call = "auth", route = "POST /activate" }]

[services.auth]
instances = 2
workers = 200
[services.auth.routes."POST /activate"]
steps = [{ work = "5ms" }]

[policies."gateway->auth"]
timeout = "5s"                      # longer than the gateway's own limit

[[faults]]
kind = "latency"
target = "auth"
start = "5s"
duration = "10s"
add = "1.5s"
"""
gateway = simulator.run(simulator.loads_scenario(GATEWAY_408), seed=1)
display(plots.timeline(gateway))

# %% [markdown]
# ### Check

# %%
outcomes = {k: v for k, v in gateway.summary["requests"]["outcomes"].items() if v}
print("outcomes:", outcomes)
correct = "b" if outcomes.get("request_timeout", 0) > 0 else "?"
print(f"The answer is {correct!r} (request_timeout is the 408); you said {my_status_answer!r}.")
print(
    "Why: the gateway's clock runs from the request's arrival and covers every call it makes; "
    "when it runs out the gateway answers 408 at once. auth's work goes on (wasted work): the "
    "gateway's 5 s timeout on auth never fired, because the 1 s limit is shorter. A hop's "
    "timeout longer than its caller's limit can never help."
)

# %% [markdown]
# ## What to take away
#
# * Pick a timeout from the latency distribution (a high quantile), not from the mean:
#   $e^{-T/m}$ shows how slowly an exponential tail falls.
# * Cascading timeouts let inner hops work long after the caller left; propagate the deadline
#   and cancel when it passes.
# * An inner timeout longer than the outer limit is dead configuration.
# * Try the challenge: `simulator check ../challenges/timeouts.toml`.
