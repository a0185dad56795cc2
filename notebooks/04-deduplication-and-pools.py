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
# # 04 · Deduplication and connection pools
#
# Two ways to do less work per request.
#
# **Deduplication**: identical requests in flight at the same time (same route, same license
# key) share one upstream call. It pays off when keys are *hot*. License keys here follow a Zipf
# law: with $N$ keys and exponent $s$, key number $k$ (by popularity) gets a share
#
# $$\frac{k^{-s}}{\sum_{j=1}^{N} j^{-s}}$$
#
# of the requests. The question is how long to share: Go's *singleflight* shares only while the
# call is in flight; the reference system keeps each result (errors too) for 1 s after it
# completes; opossum's `coalesce` keeps it for a TTL.
#
# **Connection pools**: a new TCP + TLS connection costs a handshake (here 3 ms + 12 ms); a
# keep-alive pool reuses connections. A pool too small makes requests wait for a socket. By
# Little's law a hop needs about (call rate) × (time per call) sockets busy on average.
#
# About 15 s of CPU.

# %%
# %matplotlib inline
from IPython.display import display

import simulator
from simulator import plots

# %% [markdown]
# ## Hot keys
#
# `scenarios/deduplication.toml`: 300 activations a second over 200 keys, Zipf exponent 1.2;
# the gateway deduplicates calls to auth. From 20 s to 25 s auth fails half its calls (500).

# %%
N, s = 200, 1.2
harmonic = sum(j**-s for j in range(1, N + 1))
top = [k**-s / harmonic for k in range(1, 6)]
print("share of requests on the 5 hottest keys:", ", ".join(f"{x:.1%}" for x in top))
print(f"the hottest key alone: {top[0]:.1%} of requests = {300 * top[0]:.0f} a second")

# %% [markdown]
# ### Predict
#
# 1. With the reference rule (share while in flight, and 1 s after), what share of the
#    activations does **not** need a call of its own? Store a number from 0 to 1.
# 2. Which rule hands the most *errors* of the 500 burst to requests that did not make the
#    failed call: **a** reference (1 s), **b** singleflight, **c** opossum coalesce?

# %%
my_shared_share = 0.2  # <- your prediction
my_error_answer = "b"  # <- "a", "b" or "c"

# %%
dedup = simulator.load_scenario_set("../scenarios/deduplication.toml")
rules = {"a": "reference", "b": "singleflight", "c": "opossum"}
shared = {name: simulator.run(dedup.scenario(name), seed=1) for name in rules.values()}
# "none": the same file with the dedup policy removed (the key set to nothing)
shared["none"] = simulator.run(
    simulator.with_changes(dedup, {'policies."gateway->auth".dedup': None}), seed=1
)
display(plots.timeline(shared["reference"]))

# %% [markdown]
# ### Check

# %%
for name, result in shared.items():
    hop = result.summary["edges"]["gateway->auth"]
    m = simulator.run_metrics(result)
    print(
        f"{name:12} calls {hop['calls']:6,}  shared {hop['dedup_hits']:6,} "
        f"({hop['dedup_hits'] / hop['calls']:.0%})  errors shared {hop['errors_shared']:5,}  "
        f"error ratio {m['error_ratio']:.2%}  p99 {m['latency_p99_s'] * 1000:.0f} ms"
    )
reference_hop = shared["reference"].summary["edges"]["gateway->auth"]
measured_share = reference_hop["dedup_hits"] / reference_hop["calls"]
most_errors = max(
    rules.values(), key=lambda n: shared[n].summary["edges"]["gateway->auth"]["errors_shared"]
)
correct = next(letter for letter, name in rules.items() if name == most_errors)
print(
    f"\n1. {measured_share:.0%} of activations shared a call; you said {my_shared_share:.0%}: "
    f"{'right' if abs(my_shared_share - measured_share) <= 0.1 else 'off'}."
)
print(f"2. The most errors shared: {most_errors} ({correct!r}); you said {my_error_answer!r}.")
print(
    "Why: a hot key sees several requests a millisecond, so whoever arrives while a call for it "
    "is in flight (or its result is kept) shares it. Keeping results longer shares more, and "
    "that includes errors: one 500 is handed to every request for that key until the entry "
    "expires. Singleflight forgets the key as soon as the call returns."
)

# %% [markdown]
# ## Keep-alive vs a handshake per request
#
# `scenarios/connection-pools.toml`: 300 activations a second; a new connection from the gateway
# to auth costs 3 ms (TCP) + 12 ms (TLS). The base keeps connections alive (the reference agent:
# maxSockets 100, maxFreeSockets 10); `no keep-alive` opens one per call; `max 4 sockets` keeps
# them alive but allows only 4.
#
# ### Predict
#
# 1. How many milliseconds higher is the median latency without keep-alive? Store a number.
# 2. Are 4 sockets enough? **a** yes, **b** no: requests wait for a socket and the p99 grows.

# %%
my_handshake_ms = 5.0  # <- your prediction
my_sockets_answer = "a"  # <- "a" or "b"

# %%
pools = simulator.load_scenario_set("../scenarios/connection-pools.toml")
pooled = {
    name: simulator.run(pools.scenario(name), seed=1)
    for name in ("keep-alive", "no keep-alive", "max 4 sockets")
}
display(plots.latency_distribution(pooled["no keep-alive"]))

# %% [markdown]
# ### Check

# %%
for name, result in pooled.items():
    hop = result.summary["edges"]["gateway->auth"]
    lat = result.summary["latency_s"]["success"]
    print(
        f"{name:14} connects {hop['connects']:5,}  waits for a socket {hop['pending_waits']:5,}  "
        f"p50 {lat['p50'] * 1000:5.1f} ms  p99 {lat['p99'] * 1000:5.1f} ms"
    )
p50 = {name: r.summary["latency_s"]["success"]["p50"] * 1000 for name, r in pooled.items()}
p99 = {name: r.summary["latency_s"]["success"]["p99"] * 1000 for name, r in pooled.items()}
difference = p50["no keep-alive"] - p50["keep-alive"]
waits = pooled["max 4 sockets"].summary["edges"]["gateway->auth"]["pending_waits"]
correct = "b" if waits > 0 and p99["max 4 sockets"] > 1.5 * p99["keep-alive"] else "a"
print(
    f"\n1. Without keep-alive the median is {difference:.1f} ms higher (the handshake is 15 ms); "
    f"you said {my_handshake_ms:.0f} ms: {'right' if abs(my_handshake_ms - difference) <= 3 else 'off'}."
)
print(f"2. The answer is {correct!r}; you said {my_sockets_answer!r}.")
busy = (
    pooled["keep-alive"].summary["edges"]["gateway->auth"]["calls"]
    / pooled["keep-alive"].summary["duration_s"]
)
print(
    f"Why: by Little's law the hop keeps about {busy:.0f}/s × {p50['keep-alive']:.0f} ms = "
    f"{busy * p50['keep-alive'] / 1000:.1f} sockets busy on average; 4 sockets are then busy "
    "most of the time, and the bursts of a Poisson arrival stream wait for one."
)

# %% [markdown]
# ## What to take away
#
# * Zipf keys make a few keys very hot; deduplication turns their bursts into one call each.
# * The longer a result is shared, the more calls are saved, and the more errors are spread.
# * A handshake per request costs its full price on every call; a pool must be big enough for
#   the rate times the time per call, with room for bursts.
# * Try the challenges: `simulator check ../challenges/hot-keys.toml` and
#   `../challenges/connection-pool.toml`.
