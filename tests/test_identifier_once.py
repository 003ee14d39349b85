"""``Identifier.parse`` checks each field once (in the constructor), and still names field and position."""

from __future__ import annotations

import pytest

from ecert import identifier as identifier_module
from ecert.errors import InvalidIdentifier
from ecert.identifier import Identifier

GOOD = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"


def test_fields_are_checked_once_per_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = identifier_module._check_fields

    def counting(*args: object, **kwargs: bool) -> int:
        calls.append(str(args[-1]))
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(identifier_module, "_check_fields", counting)
    assert str(Identifier.parse(GOOD)) == GOOD
    assert calls == [GOOD]


@pytest.mark.parametrize(
    ("text", "field", "position"),
    [
        (GOOD.replace("11100000000013338W011", "1110000000001333!W011"), "type_code", 31),
        (GOOD.replace("3005.2.111", "3005.2.1X1"), "type_code", 32),
        (GOOD.replace("11430000006122244L", "11430000006122244I"), "issuer_code", 54),
        (GOOD.replace("20230000403", "2023 0000403"), "serial", 60),
        (GOOD.replace(".001.", ".01.", 1), "version", 68),
        (GOOD.replace(".001.", ".0O1.", 1), "version", 68),
        (GOOD.replace(".001.", ".000.", 1), "version", 68),
        (GOOD[:-1] + "UU", "check", 72),
        (GOOD[:-1] + "D", "check", 72),
    ],
)
def test_errors_still_name_field_and_position(text: str, field: str, position: int) -> None:
    """What the removed second check reported (these fields and positions are what parse gave with
    both checks), the constructor's check reports in the same text."""
    with pytest.raises(InvalidIdentifier) as exc:
        Identifier.parse(text)
    assert exc.value.field == field
    assert exc.value.position == position, (exc.value.position, str(exc.value))
    assert exc.value.value is not None and text[-20:] in str(exc.value.value)
