"""The service-token lifecycle alone: expiry, refresh-due time with margin and jitter, one refresh
in flight, waiting when expired."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from simulator.policies.tokens import TokenConfig, TokenLifecycle, TokenState


def config(**kwargs) -> TokenConfig:
    return TokenConfig(issuer="auth", **kwargs)


def test_reference_defaults():
    token = config()
    assert token.expiry == 60.0  # jwt.sign(..., { expiresIn: '1m' })
    assert token.route == "POST /token"
    assert token.refresh_margin == 0.0 and token.refresh_jitter == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"expiry": 0},
        {"expiry": "10s", "refresh_margin": "10s"},
        {"expiry": "10s", "refresh_margin": "11s"},
        {"expiry": "10s", "refresh_margin": "5s", "refresh_jitter": "5s"},
    ],
)
def test_refused_configs(kwargs):
    with pytest.raises(ValidationError):
        config(**kwargs)


def test_first_call_fetches_and_waits_then_uses():
    life = TokenLifecycle(config(expiry=60))
    assert life.state(0.0) is TokenState.NONE
    first = life.acquire(0.0)
    assert first.start_refresh and not first.use
    assert life.state(0.0) is TokenState.REFRESHING
    second = life.acquire(0.01)
    assert not second.start_refresh and not second.use  # waits on the same refresh
    life.issued(0.02, lambda: 0.5)
    assert life.state(0.03) is TokenState.VALID
    assert life.expires_at == pytest.approx(60.02)
    assert life.acquire(30.0) == (True, False)


def test_without_margin_refresh_starts_only_at_expiry_and_calls_wait():
    life = TokenLifecycle(config(expiry=60))
    life.acquire(0.0)
    life.issued(0.0, lambda: 0.0)
    assert life.acquire(59.999) == (True, False)
    assert life.state(60.0) is TokenState.EXPIRED
    assert life.acquire(60.0) == (False, True)  # expired: wait, and start the one refresh
    assert life.acquire(60.1) == (False, False)


def test_margin_refreshes_in_the_background_once():
    life = TokenLifecycle(config(expiry=60, refresh_margin=10))
    life.acquire(0.0)
    life.issued(0.0, lambda: 0.0)
    assert life.refresh_at == 50.0
    assert life.acquire(49.9) == (True, False)
    assert life.acquire(50.0) == (True, True)  # due: refresh, and go out with the old token
    assert life.acquire(50.1) == (True, False)  # one refresh in flight at a time
    life.failed(51.0)
    assert life.acquire(51.5) == (True, True)  # a failed refresh is retried by the next call
    life.issued(52.0, lambda: 0.0)
    assert life.expires_at == 112.0 and life.refresh_at == 102.0


def test_jitter_draws_once_per_token_from_the_given_rng():
    draws = iter([0.0, 0.5, 1.0])
    life = TokenLifecycle(config(expiry=60, refresh_margin=5, refresh_jitter=20))
    due = []
    for now in (0.0, 100.0, 200.0):
        life.acquire(now)
        life.issued(now, lambda: next(draws))
        due.append(life.expires_at - life.refresh_at)
    assert due == [5.0, 15.0, 25.0]


def test_no_jitter_draws_nothing():
    life = TokenLifecycle(config(expiry=60, refresh_margin=5))
    life.acquire(0.0)

    def never() -> float:
        raise AssertionError("no jitter: no random draw")

    life.issued(0.0, never)


@given(
    expiry=st.floats(1, 1000),
    margin=st.floats(0, 0.45),
    jitter=st.floats(0, 0.45),
    u=st.floats(0, 0.999999),
    issued=st.floats(0, 1e5),
)
def test_refresh_is_due_before_expiry_and_within_margin_plus_jitter(
    expiry, margin, jitter, u, issued
):
    token = config(expiry=expiry, refresh_margin=margin * expiry, refresh_jitter=jitter * expiry)
    life = TokenLifecycle(token)
    life.acquire(issued)
    life.issued(issued, lambda: u)
    early = life.expires_at - life.refresh_at
    assert (
        token.refresh_margin - 1e-9 <= early <= token.refresh_margin + token.refresh_jitter + 1e-9
    )
    assert life.refresh_at > issued  # never due the moment it is issued
