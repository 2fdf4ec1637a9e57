from __future__ import annotations

import pytest

from gridgeo.errors import InvalidInput
from gridgeo.incidents.codes import check_code, key_for


@pytest.mark.parametrize("code", ["3707050101", "37070501001", " 3707050215 "])
def test_national_codes_of_both_structures(code):
    assert check_code(code) == code.strip()


@pytest.mark.parametrize(
    "code",
    ["370705010", "370705010100", "37070501a1", "0000000101", "3707050001", "3707050100",
     "37070501000", "３７０７０５０１０１", ""],
)  # fmt: skip
def test_malformed_codes_are_refused_naming_the_field(code):
    with pytest.raises(InvalidInput) as err:
        check_code(code, field="code")
    assert err.value.detail["field"] == "code" and "national event code" in err.value.message


def test_key_for_a_code():
    assert key_for("3707050101") == "std_3707050101"
