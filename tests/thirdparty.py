"""Where the third-party test files live: inside the repository (``tests/data/``, see its README).

Tests never look beside the checkout, so a fresh clone runs every test with nothing else present.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
OFDRW = DATA / "ofdrw"  # ofdrw's OFD files and the signer certificate (Apache-2.0)
IDENTIFIERS = DATA / "identifiers.txt"  # identifiers seen in real systems, with their check characters
