"""Collection (采集): source records (mappings, JSON, CSV rows) -> validated certificate drafts."""

from ecert.collect.collector import CollectedRow, collect, collect_csv, derived_serial
from ecert.collect.draft import CertificateDraft, DataItemValue

__all__ = ["CertificateDraft", "CollectedRow", "DataItemValue", "collect", "collect_csv", "derived_serial"]
