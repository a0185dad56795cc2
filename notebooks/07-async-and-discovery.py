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
# # 07 · Discovery and the async path: routing around crashes, and nothing lost
#
# Two ways a system keeps working while parts of it are down.
#
# **Discovery.** The reference gateway knows auth's instances by *static* URLs and picks one at
# random. When instances crash, it keeps picking them. A *registry* health-checks every instance
# (every $I$ seconds) and takes one off its list after $k$ checks in a row have failed. A crash
# happens somewhere between two checks, so the registry notices it after
#
# $$ (k-1)\,I \;<\; T_\text{detect} \;\le\; k\,I \qquad (\text{mean } (k - \tfrac12)\,I),$$
#
# plus the time the last check waited for its answer (a crashed instance refuses at once; a
# hung one makes the check wait for its timeout). Until then, calls still go to the dead
# instance.
#
# **The async path.** Instead of calling auth and waiting, the gateway puts the activation on a
# message queue and answers **202 Accepted** at once; a worker takes messages off the queue,
# calls auth, and a notification service tells the client when it is done. While auth is down the
# messages wait (a backlog); when it is back the backlog drains. Delivery is *at least once*:
# a message whose worker does not acknowledge it within the visibility timeout is delivered
# again, so a consumer may do the work twice unless it is idempotent.
#
# About 25 s of CPU.

# %%
# %matplotlib inline
from IPython.display import display

import simulator
from simulator import plots

# %% [markdown]
# ## Static URLs vs a registry
#
# `scenarios/discovery.toml`: 200 activations a second, auth has 4 instances, and 2 of them
# crash from 20 s to 80 s. The gateway makes one attempt per call (no retries), picking an
# instance at random.
#
# ### Predict
#
# With static URLs, what share of the activations fails while the two instances are down:
# 0 %, 25 %, 50 % or 75 %? And with a registry that checks every 5 s and delists after 3 failed
# checks, how many seconds after the crash does it stop sending calls to them (a number)?

# %%
my_static_error_share = 0.25  # <- 0.0, 0.25, 0.5 or 0.75
my_detection_s = 5.0  # <- seconds after the crash

# %%
found = simulator.load_scenario_set("../scenarios/discovery.toml")
static = simulator.run(found.base, seed=1)
registry = simulator.run(found.variants["registry"], seed=1)
display(plots.discovery_timeline(static))
display(plots.discovery_timeline(registry))

# %% [markdown]
# ### Check


# %%
def error_share(result: simulator.RunResult, start: int, end: int) -> float:
    """Errors as a share of the offered requests between ``start`` and ``end`` seconds."""
    series = result.timeseries
    return float(series["errors_rps"][start:end].sum() / series["offered_rps"][start:end].sum())


share = error_share(static, 30, 70)
choices = (0.0, 0.25, 0.5, 0.75)
closest = min(choices, key=lambda c: abs(c - share))
print(
    f"static: {share:.1%} of the activations failed from 30 s to 70 s; closest choice "
    f"{closest:.0%}; you said {my_static_error_share:.0%}: "
    f"{'right' if closest == my_static_error_share else 'not quite'}."
)
discovery = registry.summary["services"]["auth"]["discovery"]
detected, formula = discovery["detection_s"], discovery["expected_detection_s"]
print(
    f"registry: the crashes were seen after {detected['min']:.1f} s and {detected['max']:.1f} s "
    f"(formula: {formula['earliest']:.0f} to {formula['latest']:.0f} s, mean "
    f"{formula['mean']:.1f} s); you said {my_detection_s:.0f} s: "
    f"{'right' if formula['earliest'] <= my_detection_s <= formula['latest'] else 'not quite'}."
)
print(
    f"registry: {error_share(registry, 40, 70):.1%} failed from 40 s to 70 s, after detection; "
    f"over the run, success {simulator.run_metrics(registry)['success_ratio']:.1%} against "
    f"{simulator.run_metrics(static)['success_ratio']:.1%} with static URLs."
)
print(
    "Why: a random pick meets a dead instance 2 times in 4, so half the calls are refused for "
    "the whole minute. The registry needs 3 failed checks 5 s apart, and the crash falls "
    "anywhere in the 5 s before the first of them: 10 to 15 s. One check is not enough because "
    "one lost check must not delist a healthy instance; the price is those seconds of errors."
)

# %% [markdown]
# ### Try
#
# Change the interval and the threshold (`with_changes` takes dotted keys) and watch the
# detection time follow $(k - \tfrac12) I$. Balancers help too, without a registry: the variant
# "static + power of two" picks two instances and takes a live one over a dead one (as a caller
# does that sees connections refused at once): a call fails only when both picks are dead, 1
# time in 6 with 2 of 4 down.

# %%
faster = simulator.with_changes(
    found.variants["registry"],
    {
        "services.auth.discovery.health_check.interval": 2,
        "services.auth.discovery.health_check.unhealthy_threshold": 2,
    },
)
quick = simulator.run(faster, seed=1)
print("interval 2 s, threshold 2:", quick.summary["services"]["auth"]["discovery"]["detection_s"])

# %% [markdown]
# ## The same outage through the queue
#
# `scenarios/async-queue.toml`: auth refuses every connection from 20 s to 35 s. The base
# ("sync") calls auth and waits; the variant "queue" publishes to a durable queue instead and
# answers 202. Its worker (32 messages at once) calls auth; a refused call hands the message back,
# visible again after `nack_delay` = 2 s; after `max_deliveries` = 10 deliveries a message goes to
# the dead-letter queue.
#
# While the worker cannot finish anything, messages pile up at the publish rate $\lambda$: after
# an outage of length $T$ the backlog is about $\lambda T$. When auth is back, the worker drains
# it at its spare capacity, $\mu - \lambda$ a second.
#
# ### Predict
#
# How many messages wait in the queue as the outage ends (a number)? And what share of the
# client's requests gets an error with the queue: 0 %, 5 %, 25 % or 50 %?

# %%
my_backlog = 1000  # <- messages waiting at 35 s
my_queue_error_share = 0.25  # <- 0.0, 0.05, 0.25 or 0.5

# %%
paths = simulator.load_scenario_set("../scenarios/async-queue.toml")
sync = simulator.run(paths.variants["sync"], seed=1)
queued = simulator.run(paths.variants["queue"], seed=1)
display(plots.timeline(sync))
display(plots.queue_timeline(queued))

# %% [markdown]
# ### Check

# %%
activations = queued.summary["queues"]["activations"]
backlog, rate, outage = activations["peak_depth"], 200, 15
print(
    f"backlog: {backlog:,} messages at its peak ({activations['peak_depth_at_s']:.0f} s); "
    f"lambda x T = {rate * outage:,}; you said {my_backlog:,}: "
    f"{'right' if abs(my_backlog - backlog) <= 0.1 * backlog else 'not quite'} (within 10 %)."
)
errors = simulator.run_metrics(queued)["error_ratio"]
print(
    f"errors with the queue: {errors:.1%} (sync: {simulator.run_metrics(sync)['error_ratio']:.1%}); "
    f"you said {my_queue_error_share:.0%}: "
    f"{'right' if my_queue_error_share == 0 and errors == 0 else 'not quite'}."
)
e2e = activations["e2e_latency_s"]
assert activations["published"] == (
    activations["acked"]
    + activations["dead_lettered"]
    + activations["in_queue_at_end"]
    + activations["in_flight_at_end"]
)
print(
    f"nothing lost: published {activations['published']:,} = acked {activations['acked']:,} + "
    f"dead letters {activations['dead_lettered']:,} + still queued "
    f"{activations['in_queue_at_end']:,} + in flight {activations['in_flight_at_end']:,}; "
    f"drained by {activations['drained_at_s']:.0f} s; publish to notification p50 "
    f"{e2e['p50'] * 1000:.0f} ms, p99 {e2e['p99']:.1f} s."
)
print(
    "Why: the 202 only says the message is stored, so the client never sees auth's refusals; "
    "the work waits instead. The price moves from errors to latency: a message published at "
    "20 s is activated after 15 s, and the client learns it from the notification."
)

# %% [markdown]
# ## At least once, and the dead-letter queue
#
# A failed delivery comes back after `nack_delay`. With $N$ deliveries and a delay $d$ a message
# survives an outage of about $(N - 1)\,d$ = 18 s here: longer than the 15 s outage.
#
# ### Predict
#
# With `nack_delay = 0` (a failed message is visible again at once), how many of the messages
# published during the outage end in the dead-letter queue: "none", "about half" or "nearly all"?

# %%
my_dead_letters = "none"  # <- "none", "about half" or "nearly all"

# %%
eager = simulator.run(
    simulator.with_changes(paths.variants["queue"], {"consumers.worker.nack_delay": 0}), seed=1
)
display(plots.queue_timeline(eager))

# %% [markdown]
# ### Check

# %%
dead = eager.summary["queues"]["activations"]["dead_lettered"]
during = rate * outage
share = dead / during
answer = "none" if share < 0.05 else "about half" if share < 0.75 else "nearly all"
print(
    f"{dead:,} dead letters of about {during:,} published during the outage ({share:.0%}): "
    f"{answer!r}; you said {my_dead_letters!r}."
)
print(
    "Why: with no delay a refused message is delivered again within milliseconds, so its 10 "
    "deliveries are spent in well under a second, long before auth is back. Nothing is lost by "
    "the queue's count (each is in the dead-letter queue), but the activation was never done. "
    "A delay (or exponential backoff between deliveries) spreads the deliveries over the outage."
)

# %% [markdown]
# ## What to take away
#
# * Static URLs keep sending to dead instances; a registry stops after about $(k - \tfrac12) I$,
#   and the threshold trades detection time against flapping.
# * A queue turns errors into latency: the client gets 202 at once, the backlog $\approx \lambda
#   T$ drains after the outage, and conservation holds: every message is acked, dead-lettered or
#   still queued.
# * At least once means duplicates are possible (a hung worker's message is redelivered after
#   the visibility timeout): make consumers idempotent. Space redeliveries so that
#   $(N - 1)\,d$ outlasts the outages you expect.
# * Try the whole system in one file: `simulator run ../scenarios/license-system.toml`.
