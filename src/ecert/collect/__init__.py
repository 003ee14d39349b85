"""Collection (采集): source records (mappings, JSON, CSV rows) -> validated certificate drafts."""

from ecert._callable import make_callable
from ecert.collect.collector import collect, derived_serial
from ecert.collect.csvrows import CollectedRow, collect_csv
from ecert.collect.draft import CertificateDraft, DataItemValue

__all__ = ["CertificateDraft", "CollectedRow", "DataItemValue", "collect", "collect_csv", "derived_serial"]


# ``ecert.collect(...)`` calls collect() whether ``ecert.collect`` was reached as the module or the function.
make_callable(__name__, collect)
