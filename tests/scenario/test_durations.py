import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.units import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("5s", 5.0),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("100us", 1e-4),
        (3, 3.0),
        (0.5, 0.5),
        ("1.5s", 1.5),
        (" 7 ", 7.0),
        ("2min", 120.0),
        ("1e-3s", 0.001),
    ],
)
def test_accepted_forms(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "bad",
    [
        "5 parsecs",
        "-1s",
        "abc",
        "",
        "ms",
        True,
        None,
        [1],
        "1e400",
        float("nan"),
        float("inf"),
        -3,
        1e9,
    ],
)
def test_refused_with_reason(bad):
    with pytest.raises(ValueError) as error:
        parse_duration(bad)
    assert repr(bad)[:10].strip("'") in str(error.value) or "duration" in str(error.value)


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_numbers_are_seconds(value):
    assert parse_duration(value) == value


@given(st.floats(min_value=0.001, max_value=1e6, allow_nan=False))
def test_ms_is_a_thousandth(value):
    assert math.isclose(parse_duration(f"{value!r}ms"), value / 1000, rel_tol=1e-12)
