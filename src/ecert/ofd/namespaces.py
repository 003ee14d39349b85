"""OFD names in one place: the namespace, its prefix and the fixed entry names (GB/T 33190-2016).

GB/T 33190-2016 §7.1 puts every OFD element in the namespace ``http://www.ofdspec.org/2016``
with the conventional prefix ``ofd``; the package entry point is ``OFD.xml`` (§7.3).
"""

from __future__ import annotations

from typing import Final

OFD_NS: Final = "http://www.ofdspec.org/2016"
OFD_PREFIX: Final = "ofd"
# Namespace written by some pre-standard producers (seen in Suwell pdf2ofd output); read as OFD_NS.
LEGACY_NAMESPACES: Final = frozenset({"http://www.ofdspec.org"})
NSMAP: Final[dict[str, str]] = {OFD_PREFIX: OFD_NS}
XPATH_NS: Final[dict[str, str]] = {OFD_PREFIX: OFD_NS}

OFD_ENTRY: Final = "OFD.xml"  # §7.3: the entry file at the package root


def q(local: str) -> str:
    """Clark-notation name ``{ns}local`` of an OFD element or attribute."""
    return f"{{{OFD_NS}}}{local}"
