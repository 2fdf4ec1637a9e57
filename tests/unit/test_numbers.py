"""Issue 16: 户数 31799 and 偏差 -0.0 % on the maps."""

from maps.numbers import count, percent


def test_counts_are_thousands_separated():
    assert count(31799) == "31,799" and count(12.345, 1) == "12.3" and count(None) == "–"


def test_a_deviation_that_rounds_to_zero_has_no_sign():
    assert percent(-0.0004) == "0.0 %" and percent(0.0004) == "0.0 %"
    assert percent(-0.053) == "-5.3 %" and percent(0.1) == "+10.0 %" and percent(None) == "–"
