"""The certificate registry (电子证照库): serial numbers, issued records, status, signed status lists."""

from ecert.registry.base import IssuedRecord, Registry
from ecert.registry.sqlite import SQLiteRegistry
from ecert.registry.status import CertStatus, StatusEntry
from ecert.registry.statuslist import StatusList

__all__ = ["CertStatus", "IssuedRecord", "Registry", "SQLiteRegistry", "StatusEntry", "StatusList"]
