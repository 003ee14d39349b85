"""Safety limits applied when opening an OFD package (a ZIP file from anyone)."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that an untrusted OFD package must respect; breaking one raises ``UnsafePackage``.

    ``max_ratio`` bounds uncompressed/compressed size of each entry, checked against the sizes the
    ZIP directory declares and again while decompressing (a directory can lie).
    """

    max_entries: int = 10_000
    max_total_size: int = 256 * MiB
    max_entry_size: int = 64 * MiB
    max_ratio: int = 200
    max_xml_size: int = 16 * MiB
    ratio_floor: int = 64 * 1024  # entries smaller than this are never refused for their ratio

    def __post_init__(self) -> None:
        for name in ("max_entries", "max_total_size", "max_entry_size", "max_ratio", "max_xml_size"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive")


DEFAULT_LIMITS = Limits()
