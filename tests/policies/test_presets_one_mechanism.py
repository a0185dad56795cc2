"""One preset mechanism: every policy config with presets is a PresetConfig, whose merge is the
only caller of fill_preset, and user keys win over the preset's in every family."""

from __future__ import annotations

import pathlib

import pytest

from simulator.policies.backoff import BackoffConfig
from simulator.policies.breaker import BreakerConfig
from simulator.policies.bulkhead import BulkheadConfig
from simulator.policies.dedup import DedupConfig
from simulator.policies.hedging import HedgingConfig
from simulator.policies.pool import PoolConfig
from simulator.policies.presets import PresetConfig
from simulator.policies.retry import RetryConfig

FAMILIES = [
    BackoffConfig,
    BreakerConfig,
    BulkheadConfig,
    DedupConfig,
    HedgingConfig,
    PoolConfig,
    RetryConfig,
]
POLICIES = pathlib.Path(__file__).resolve().parents[2] / "simulator" / "policies"


@pytest.mark.parametrize("config", FAMILIES, ids=lambda c: c.__name__)
def test_every_family_with_presets_uses_the_one_mechanism(config):
    assert issubclass(config, PresetConfig)
    assert config.PRESETS, f"{config.__name__} declares no presets"


def test_no_module_merges_presets_by_hand():
    callers = [
        p.name
        for p in POLICIES.glob("*.py")
        if "fill_preset(" in p.read_text() and p.name != "presets.py"
    ]
    assert callers == []


def test_user_keys_win_over_the_preset():
    assert BreakerConfig(preset="resilience4j", half_open_after="7s").half_open_after == 7.0
    assert RetryConfig(preset="envoy", retries=5).max_attempts == 6
