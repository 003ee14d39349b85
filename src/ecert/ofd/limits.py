"""Safety limits applied when opening an OFD package (a ZIP file from anyone)."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that an untrusted OFD package must respect; breaking one raises ``UnsafePackage``.

    ``max_ratio`` bounds uncompressed/compressed size of each entry, checked against the sizes the
    ZIP directory declares and again while decompressing (a directory can lie).

    The defaults keep any input under 10 MB within about 100 MB of memory and a second of work
    (``benchmarks/bench_hostile.py``): the package is held decompressed (real signed multi-page
    documents hold a few MB, their images as compressed as they came), and decompressing and
    hashing and holding it costs time and memory in proportion, so it may not exceed the larger of
    ``max_total_size`` and twice the package's own size (:meth:`total_for`: a large document of
    stored images stays readable, a small file cannot expand to much), an XML part parsed by lxml
    costs a few hundred bytes per element or attribute (``max_xml_nodes`` bounds the count of
    ``<`` and ``=`` in it, an upper bound of both), and each signature costs a public-key
    verification (``max_signatures``: a document carries a few
    seals, not hundreds).
    """

    max_entries: int = 10_000
    max_total_size: int = 24 * MiB  # or twice the package's own size, when that is more
    max_entry_size: int = 64 * MiB
    max_ratio: int = 200
    max_xml_size: int = 16 * MiB
    ratio_floor: int = 64 * 1024  # entries smaller than this are never refused for their ratio
    max_xml_nodes: int = 200_000
    max_signatures: int = 64
    max_references: int = 5_000  # all the signatures of a document together (a certificate has ~10)

    def total_for(self, package_size: int) -> int:
        """The most a package of ``package_size`` bytes may hold decompressed."""
        return max(self.max_total_size, 2 * package_size)

    def __post_init__(self) -> None:
        for name in ("max_entries", "max_total_size", "max_entry_size", "max_ratio", "max_xml_size",
                     "max_xml_nodes", "max_signatures", "max_references"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive")


DEFAULT_LIMITS = Limits()
