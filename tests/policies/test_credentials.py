"""Shared secrets alone: which secret a caller sends, which a callee instance accepts, during a
rotation; and the checks a route gets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from simulator.policies.credentials import Credentials, SecretRotation, ServiceAuth


def test_rotation_spreads_instances_evenly():
    rotation = SecretRotation(at=20, spread=10, new="s2")
    assert [rotation.switch_time(i, 3) for i in range(3)] == [20.0, 25.0, 30.0]
    assert rotation.switch_time(0, 1) == 20.0
    assert SecretRotation(at=20, new="s2").switch_time(4, 5) == 20.0
    assert rotation.end == 30.0


def test_missing_or_wrong_secret_is_refused():
    auth = ServiceAuth(secrets=["s1"])
    assert auth.accepts("s1", 0, 1, 0.0)
    assert not auth.accepts("s2", 0, 1, 0.0)
    assert not auth.accepts(None, 0, 1, 0.0)
    assert ServiceAuth(tokens=True).accepts(None, 0, 1, 0.0)  # secrets not checked


def test_hard_switch_refuses_the_old_secret_from_each_instance_switch_on():
    auth = ServiceAuth(secrets=["s1"], rotation={"at": 10, "spread": 10, "new": "s2"})
    # instance 0 switches at 10 s, instance 1 at 20 s
    assert auth.accepts("s1", 0, 2, 9.99) and not auth.accepts("s2", 0, 2, 9.99)
    assert not auth.accepts("s1", 0, 2, 10.0) and auth.accepts("s2", 0, 2, 10.0)
    assert auth.accepts("s1", 1, 2, 15.0) and not auth.accepts("s2", 1, 2, 15.0)
    assert auth.accepts("s2", 1, 2, 20.0)


def test_accept_old_for_overlaps_the_two_secrets():
    auth = ServiceAuth(secrets=["s1"], rotation={"at": 10, "new": "s2"}, accept_old_for=5)
    assert auth.accepts("s1", 0, 1, 14.99) and auth.accepts("s2", 0, 1, 14.99)
    assert not auth.accepts("s1", 0, 1, 15.0)


def test_caller_sends_its_secret_then_the_new_one():
    creds = Credentials(secret="s1", rotation={"at": 10, "spread": 4, "new": "s2"})
    assert [creds.secret_at(i, 3, 11.0) for i in range(3)] == ["s2", "s1", "s1"]
    assert creds.secret_at(2, 3, 14.0) == "s2"
    assert Credentials().secret_at(0, 1, 0.0) is None


def test_token_checks_skip_exempt_and_issuing_routes():
    auth = ServiceAuth(tokens=True, exempt_routes=["GET /health"])
    assert auth.checks_token("POST /activate", issuing=False)
    assert not auth.checks_token("POST /token", issuing=True)
    assert not auth.checks_route("GET /health")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "checks nothing"),
        ({"tokens": True, "rotation": {"at": 1, "new": "x"}}, "needs 'secrets'"),
        ({"secrets": ["a"], "rotation": {"at": 1, "new": "a"}}, "already accepted"),
        ({"secrets": ["a"], "verify_work": "1ms"}, "set tokens = true"),
    ],
)
def test_service_auth_refuses_inconsistent_tables(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        ServiceAuth(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rotation": {"at": 1, "new": "x"}}, "needs a 'secret'"),
        ({"secret": "a", "rotation": {"at": 1, "new": "a"}}, "already sent"),
    ],
)
def test_credentials_refuse_inconsistent_tables(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        Credentials(**kwargs)
