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
# About 20 s of CPU.

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
