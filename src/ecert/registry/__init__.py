"""The certificate registry (电子证照库): serial numbers, issued records, status, signed status lists.

``SQLiteRegistry`` is the embedded store; :class:`Registry` is the interface another store (a
department's database server) implements; :class:`StatusSource` is all a verifier needs, and both
a registry and a loaded :class:`StatusList` are one.
"""

from ecert.registry.base import Gap, HistoryEntry, IssuedRecord, Registry, StatusSource
from ecert.registry.sqlite import SQLiteRegistry
from ecert.registry.status import CertStatus, StatusEntry, from_profile_code, profile_code
from ecert.registry.statuslist import StaleStatusList, StatusList

__all__ = [
    "CertStatus",
    "Gap",
    "HistoryEntry",
    "IssuedRecord",
    "Registry",
    "SQLiteRegistry",
    "StaleStatusList",
    "StatusEntry",
    "StatusList",
    "StatusSource",
    "from_profile_code",
    "profile_code",
]
