"""``parse_signing_time`` reads the compact SignatureDateTime forms by position, as strptime did.

The compact forms (``20200928165140Z``, ``...+0800``) were read with ``datetime.strptime``; importing
``_strptime`` cost a verifying process more than the parse, so they are now read by position.  The
reference here is the strptime reading, on the forms seen in practice and on generated ones.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from ecert.ofd.signatures import parse_signing_time
from ecert.times import CHINA_STANDARD_TIME

_COMPACT = re.compile(r"^(\d{14})(?:\.(\d{1,6}))?(Z|[+-]\d{4})?$")


def _by_strptime(text: str) -> datetime | None:
    """The previous reading of the compact forms."""
    m = _COMPACT.match(text.strip())
    assert m is not None
    try:
        value = datetime.strptime(m.group(1), "%Y%m%d%H%M%S")
        if m.group(2):
            value = value.replace(microsecond=int(m.group(2).ljust(6, "0")))
        zone = m.group(3)
        if zone and zone != "Z":
            return value.replace(tzinfo=datetime.strptime(zone, "%z").tzinfo)
        return value.replace(tzinfo=UTC if zone else CHINA_STANDARD_TIME)
    except ValueError:
        return None


SEEN = ["20200928165140Z", "20201004072855.302Z", "20201010151119+0800", "20201010151120",
        "20201010151119-0530", "20201301000000Z", "20200230101010", "20201010246000Z",
        "20201010151119+2400", "20201010151119+0860", "20201010151119+9999", "00000101000000Z"]


def test_forms_seen_in_practice() -> None:
    for text in SEEN:
        assert parse_signing_time(text) == _by_strptime(text), text
    assert parse_signing_time("20201010151119+0800") == datetime.fromisoformat("2020-10-10T15:11:19+08:00")


@settings(max_examples=500, deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=14, max_size=14),
    st.one_of(st.just(""), st.text(alphabet="0123456789", min_size=1, max_size=6).map(lambda f: "." + f)),
    st.one_of(st.just(""), st.just("Z"),
              st.tuples(st.sampled_from("+-"), st.text(alphabet="0123456789", min_size=4, max_size=4))
              .map("".join)),
)
def test_generated_compact_forms_read_as_strptime_read_them(digits: str, fraction: str, zone: str) -> None:
    text = digits + fraction + zone
    assert parse_signing_time(text) == _by_strptime(text)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
       st.integers(min_value=-23 * 60, max_value=23 * 60))
def test_real_times_with_offsets(when: datetime, minutes: int) -> None:
    sign = "-" if minutes < 0 else "+"
    text = when.strftime("%Y%m%d%H%M%S") + f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    assert parse_signing_time(text) == _by_strptime(text)
    assert parse_signing_time(text) is not None
