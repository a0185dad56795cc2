"""Deadlines: cascading fixed timeouts (the reference system) and propagated absolute deadlines
(gRPC, Google SRE's 30 s -> 23 s -> 19 s)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from simulator.policies.deadline import NO_DEADLINE, Deadline, DeadlineConfig


def test_google_sre_example_30_23_19() -> None:
    client = Deadline.after(0.0, 30.0)  # the request starts with 30 s
    b = client.child(7.0, None)  # A spent 7 s before calling B
    assert b.remaining(7.0) == 23.0
    c = b.child(11.0, None)  # B spent 4 s before calling C
    assert c.remaining(11.0) == 19.0
    assert c.absolute == client.absolute == 30.0


def test_propagate_subtracts_the_margin_at_each_hop() -> None:
    config = DeadlineConfig(mode="propagate", margin="200ms")
    b = config.child(Deadline.after(0.0, 30.0), 7.0, None)
    assert b.remaining(7.0) == pytest.approx(22.8)
    c = config.child(b, 11.0, None)
    assert c.remaining(11.0) == pytest.approx(18.6)


def test_propagate_takes_the_sooner_of_inherited_and_own_timeout() -> None:
    parent = Deadline.after(0.0, 30.0)
    assert parent.child(7.0, 5.0).absolute == 12.0  # gateway -> auth 5 s < 23 s left
    assert parent.child(27.0, 5.0).absolute == 30.0  # only 3 s left: the parent's wins


def test_cascade_uses_only_the_hops_own_timeout() -> None:
    # the reference system: client 30 s > gateway 25 s > auth 20 s > database 15 s
    config = DeadlineConfig()
    assert config.mode == "cascade" and config.margin == 0.0
    client = Deadline.after(0.0, 30.0)
    gateway = config.child(client, 0.0, 25.0)
    auth = config.child(gateway, 7.0, 20.0)
    database = config.child(auth, 9.0, 15.0)
    assert (gateway.absolute, auth.absolute, database.absolute) == (25.0, 27.0, 24.0)
    # auth works until 27 s for a gateway that gave up at 25 s: the waste cascading allows
    assert auth.absolute > gateway.absolute


def test_no_deadline() -> None:
    assert NO_DEADLINE.remaining(1e6) == math.inf and not NO_DEADLINE.expired(1e6)
    assert NO_DEADLINE.child(3.0, None) == NO_DEADLINE
    assert NO_DEADLINE.child(3.0, 2.0) == Deadline(5.0)
    assert Deadline.after(3.0, None) == NO_DEADLINE


def test_expiry_is_at_the_deadline_and_remaining_never_negative() -> None:
    d = Deadline(10.0)
    assert not d.expired(9.999) and d.expired(10.0)
    assert d.remaining(12.0) == 0.0
    assert d.child(9.9, None, margin=0.2).expired(9.9)  # less left than the margin: fail fast


def test_bad_configs_are_refused() -> None:
    with pytest.raises(ValidationError, match="'cascade' or 'propagate'"):
        DeadlineConfig(mode="relay")
    with pytest.raises(ValidationError, match="less than or equal to 60"):
        DeadlineConfig(margin="2m")


times = st.floats(0, 1e4)
timeouts = st.none() | st.floats(0, 1e3)


@given(parent=st.none() | times, now=times, hop_timeout=timeouts, margin=st.floats(0, 1))
def test_child_deadlines_never_outlive_what_they_are_built_from(
    parent: float | None, now: float, hop_timeout: float | None, margin: float
) -> None:
    own = None if hop_timeout is None else now + hop_timeout
    cascade = Deadline(parent).child(now, hop_timeout, margin, mode="cascade")
    assert cascade.absolute == own
    child = Deadline(parent).child(now, hop_timeout, margin, mode="propagate")
    if parent is not None:
        assert child.absolute is not None and child.absolute <= parent - margin
    if own is not None:
        assert child.absolute is not None and child.absolute <= own
    if parent is None and own is None:
        assert child == NO_DEADLINE
