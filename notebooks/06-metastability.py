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
# # 06 · Metastability: the collapse that outlasts its trigger
#
# A system is *metastable* when it has two stable states under the same load: healthy, and
# collapsed. A short trigger (a slowdown, a spike) pushes it from one to the other, and it stays
# collapsed after the trigger is gone, held there by its own reaction: usually retries.
#
# Take a database with $C$ connections whose write time grows with the requests in flight
# (waiting or served), $s(N) = s_0 + k N$. Once the connections are all busy, it completes
#
# $$\mu(N) = \frac{C}{s_0 + k N}$$
#
# writes a second: **the longer the queue, the slower it drains**. Writes arrive at $\lambda$
# per second, times the retry amplification $a$ when requests time out. The backlog shrinks
# only while $\mu(N) > a \lambda$, that is below the critical backlog
#
# $$N^{*} = \frac{C / (a \lambda) - s_0}{k}.$$
#
# A trigger that leaves more than $N^*$ requests waiting leaves a system that cannot drain.
# About 15 s of CPU: the runs are 40 s long instead of the file's 90 s.

# %%
# %matplotlib inline
from IPython.display import display

import simulator
from simulator import plots

# %% [markdown]
# ## The numbers of the retry storm
#
# `scenarios/retry-storm.toml`: $C$ = 32 connections, writes of about $s_0$ = 6 ms, $k$ =
# 0.05 ms per request in flight, $\lambda$ = 200 a second; 3 attempts at the gateway and 3 at
# auth. While requests time out, auth's 256 threads send about 770 writes a second ($a
# \approx 3.85$).

# %%
C, s0, k, rate = 32, 0.006, 0.00005, 200


def critical_backlog(amplification: float) -> float:
    """N*: the backlog above which the database cannot drain."""
    return (C / (amplification * rate) - s0) / k


print(f"no retries (a = 1):     N* = {critical_backlog(1):,.0f} requests")
print(f"retries (a = 3.85):     N* = {critical_backlog(770 / 200):,.0f} requests")

# %% [markdown]
# A 30x slowdown makes each write take 180 ms or more: the database finishes under 180 a second
# while 200 (and then, with retries, up to 770) arrive. The backlog grows every second the
# slowdown lasts.
#
# ### Predict
#
# The file's slowdown lasts 5 s. What is the shortest slowdown, of 1, 2, 3 or 5 s, that leaves
# the system down (goodput not back) with the retries at both hops?

# %%
my_shortest_trigger_s = 5  # <- 1, 2, 3 or 5

# %%
storm = simulator.load_scenario_set("../scenarios/retry-storm.toml")
triggers = {}
for seconds in (1, 2, 3, 5):
    scenario = simulator.with_changes(storm, {"duration": 40, "faults.0.duration": seconds})
    triggers[seconds] = simulator.run(scenario, seed=1)
    if not simulator.run_metrics(triggers[seconds])["recovered"]:
        break  # longer ones collapse too (try them: it takes a few seconds each)
display(plots.timeline(triggers[seconds]))

# %% [markdown]
# ### Check


# %%
def backlog_at(result: simulator.RunResult, t: float) -> float:
    """Requests waiting at the database in the bucket that holds time ``t``."""
    times = list(result.timeseries["time"])
    index = max(i for i, start in enumerate(times) if start <= t)
    return float(result.timeseries["db.queue_length"][index])


for seconds, result in triggers.items():
    m = simulator.run_metrics(result)
    end = 20 + seconds
    state = f"back {m['recovery_s']:.0f} s after" if m["recovered"] else "never back"
    print(
        f"{seconds} s slowdown: {backlog_at(result, end - 0.5):6,.0f} waiting at the database as it "
        f"ends, {backlog_at(result, 39):6,.0f} at 39 s; goodput {state}"
    )
shortest = next(s for s, r in triggers.items() if not simulator.run_metrics(r)["recovered"])
print(
    f"\nThe shortest trigger that leaves it down: {shortest} s; you said "
    f"{my_shortest_trigger_s} s: {'right' if shortest == my_shortest_trigger_s else 'not quite'}."
)
print(
    f"Why: with retries, N* is only about {critical_backlog(770 / 200):,.0f}. A 1 s slowdown leaves "
    "a backlog the database drains before many requests time out; after a 2 s one the timeouts "
    "have started, every one of them comes back as more attempts, and the backlog keeps growing "
    "after the trigger is gone. N* is an order of magnitude, not a sharp line: the backlog as "
    "the slowdown ends is under it, but the retries already on their way push it over."
)

# %% [markdown]
# ## What breaks the loop
#
# The loop is: slow database → timeouts → retries → more load → slower database. Break any
# link and the system comes back. Two candidates, with the 5 s slowdown:
#
# * **a**: bound the database's queue at 200 (`queue_limit`): beyond it, a write is refused at
#   once with a 503 instead of waiting;
# * **b**: retry only at the gateway (auth makes 1 attempt): at most 3 writes per request
#   instead of 9.
#
# ### Predict
#
# Which of them brings goodput back within 5 s of the fault's end? Store "a", "b", "both" or
# "neither".

# %%
my_loop_answer = "both"  # <- "a", "b", "both" or "neither"

# %%
breakers = {
    "a": {"services.db.queue_limit": 200},
    "b": {'policies."auth->db".retry.max_attempts': 1},
}
broken = {
    letter: simulator.run(simulator.with_changes(storm, {"duration": 40, **change}), seed=1)
    for letter, change in breakers.items()
}
display(plots.timeline(broken["a"]))

# %% [markdown]
# ### Check

# %%
works = {}
for letter, result in broken.items():
    m = simulator.run_metrics(result)
    works[letter] = m["recovered"] and m["recovery_s"] <= 5
    state = f"back {m['recovery_s']:.0f} s after" if m["recovered"] else "never back"
    print(f"{letter}: {breakers[letter]}: goodput {state}, success {m['success_ratio']:.1%}")
correct = {(True, True): "both", (True, False): "a", (False, True): "b"}.get(
    (works["a"], works["b"]), "neither"
)
print(f"\nThe answer is {correct!r}; you said {my_loop_answer!r}.")
print(
    "Why: a bounded queue caps the backlog N itself below N*, so the database never gets slow "
    "enough to stay down: the excess is refused at once (a fast failure instead of a slow one). Fewer "
    "retries lower the amplification, which raises N*, but 3 attempts at the gateway alone still "
    "send 600 writes a second while requests time out: more than the slow database can finish."
)

# %% [markdown]
# ## What to take away
#
# * Load-dependent latency plus retries gives a system two stable states; a trigger longer than
#   a threshold moves it to the bad one, and removing the trigger does not move it back.
# * $N^*$ tells you which backlog is too much: amplification lowers it.
# * Break the loop: bound queues (shed load early), budget retries (notebook 01), propagate
#   deadlines so that no one works for callers who left (notebook 02).
# * Try the challenge: `simulator check ../challenges/retry-storm.toml`.
