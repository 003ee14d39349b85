"""Exchange peers (交换节点) as a receiving library knows them, and the files still owed by digest.

A peer is an application of the library (``add_application``) with an ``exchange`` right, which
authenticates its HTTP requests as every share-service caller does (SM2-signed requests), plus a
peer record kept in ``library_info`` (``exchange.peer.<app_id>``): the certificate its batches
are signed with (or the CA that issued it) and what it may send (regions, issuers).  The rights'
certificate types are what the peer may pull.  Keeping peers in the library (not in a server
configuration file) means every server worker sees the same peers and a new one needs no restart.

The first batch a peer pushes binds it to the sending library's id (``exchange.peer.<app_id>.library``
and ``exchange.library.<id>.peer``): no peer can move another library's cursor afterwards.  A
library this one pulls from (``exchange.library.<id>.pulled``) is no peer's to push for: a pull and
a push of one sender move the same cursor rows.

Files that did not travel in a batch are owed by digest: the receiver keeps the list
(``<key>.wanted``, a JSON list) and the sender delivers them (push) or the receiver fetches them
(pull); each is checked against the SM3 the certificate's record names before it is stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ecert.crypto.x509 import Certificate, load_certificates
from ecert.errors import EcertError, InputError, PermissionDenied, RegistryError
from ecert.exchange.batch import ExchangePolicy
from ecert.registry.base import Registry

__all__ = [
    "FileRef",
    "Peer",
    "add_peer",
    "bind_sender",
    "bound_library",
    "check_sender",
    "get_peer",
    "mark_pulled",
    "owed_files",
    "set_owed_files",
]

_APP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", re.ASCII)
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)
MAX_OWED = 100_000  # files owed to one receiver at once (a list kept in one library_info row)


@dataclass(frozen=True, slots=True)
class Peer:
    """A library this one exchanges with: its application id, batch certificate, authority."""

    app_id: str
    certificate: Certificate
    policy: ExchangePolicy


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file named by digest: a certificate's original (``copy_id`` None) or an annotated copy."""

    identifier: str
    sm3: str
    copy_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.identifier, str) or not self.identifier or len(self.identifier) > 256:
            raise InputError("a certificate identifier", where="certIdentifier", value=self.identifier)
        if not isinstance(self.sm3, str) or not _HEX64.fullmatch(self.sm3):
            raise InputError("64 lower-case hex digits", where="sm3", value=self.sm3)
        if self.copy_id is not None and (
            not isinstance(self.copy_id, str) or not 0 < len(self.copy_id) <= 128
        ):
            raise InputError("a copy id", where="copyId", value=self.copy_id)

    @property
    def stored_as(self) -> tuple[str, str]:
        """(name, kind) the library keeps the file under."""
        return (self.identifier, "original") if self.copy_id is None else (self.copy_id, "copy")

    def to_dict(self) -> dict[str, str | None]:
        return {"certIdentifier": self.identifier, "copyId": self.copy_id, "sm3": self.sm3}


def _key(app_id: str) -> str:
    if not isinstance(app_id, str) or not _APP_ID.fullmatch(app_id):
        raise InputError("an application id", where="app_id", value=app_id)
    return f"exchange.peer.{app_id}"


def add_peer(library: Registry, app_id: str, certificate: Certificate, policy: ExchangePolicy) -> Peer:
    """Record (or replace) the peer record of ``app_id``: its batch certificate and authority."""
    if not isinstance(certificate, Certificate):
        raise InputError("a certificate", where="certificate", value=type(certificate).__name__)
    if not isinstance(policy, ExchangePolicy):
        raise InputError("an ExchangePolicy", where="policy", value=type(policy).__name__)
    doc = {
        "certificate": certificate.to_pem().decode("ascii"),
        "regions": sorted(policy.regions),
        "issuers": sorted(policy.issuers),
    }
    library.set_info(_key(app_id), json.dumps(doc, sort_keys=True))
    return Peer(app_id, certificate, policy)


def get_peer(library: Registry, app_id: str) -> Peer:
    """The peer record of ``app_id``; PermissionDenied when it is not an exchange peer here."""
    raw = library.info(_key(app_id))
    if raw is None:
        raise PermissionDenied(
            f"application {app_id} is not an exchange peer of this library "
            "(no peer record: `ecert exchange peer add`)"
        )
    try:
        doc = json.loads(raw)
        certs = load_certificates(str(doc["certificate"]).encode("ascii"))
        policy = ExchangePolicy(frozenset(doc["regions"]), frozenset(doc["issuers"]))
    except (ValueError, KeyError, TypeError, EcertError) as exc:
        raise RegistryError(f"the peer record of {app_id} is damaged ({exc})") from None
    if not certs:
        raise RegistryError(f"the peer record of {app_id} holds no certificate")
    return Peer(app_id, certs[0], policy)


def bound_library(library: Registry, app_id: str) -> str | None:
    """The sending library a peer's pushes are bound to (None before its first push)."""
    return library.info(f"{_key(app_id)}.library")


def check_sender(library: Registry, app_id: str, sender: str) -> str | None:
    """PermissionDenied unless ``app_id`` may send for library ``sender``: it is bound to it, or
    to none yet and no other peer is bound to it.  The library it is bound to (None: not yet)."""
    if not isinstance(sender, str) or not 0 < len(sender) <= 128:
        raise InputError("a library id", where="sender", value=sender)
    bound = bound_library(library, app_id)
    if bound is not None and bound != sender:
        raise PermissionDenied(
            f"peer {app_id} sends for library {bound}; a batch of library {sender} is not its to send"
        )
    owner = library.info(f"exchange.library.{sender}.peer")
    if owner is not None and owner != app_id:
        raise PermissionDenied(f"library {sender} is sent by peer {owner}, not by {app_id}")
    if bound is None and library.info(f"exchange.library.{sender}.pulled") is not None:
        raise PermissionDenied(f"this library pulls library {sender} from its service; no peer sends for it")
    return bound


def mark_pulled(library: Registry, sender: str) -> None:
    """Record that this library pulls ``sender``'s log (so no peer may push for it); PermissionDenied
    when a peer pushes for it already (its batches moved the cursor a pull would resume from)."""
    owner = library.info(f"exchange.library.{sender}.peer")
    if owner is not None:
        raise PermissionDenied(f"library {sender} is pushed here by peer {owner}; it cannot be pulled too")
    if library.info(f"exchange.library.{sender}.pulled") is None:
        library.set_info(f"exchange.library.{sender}.pulled", "1")


def bind_sender(library: Registry, app_id: str, sender: str) -> None:
    """Bind ``app_id`` to the library id its batches name, on first use; refuse any other after."""
    if check_sender(library, app_id, sender) is None:
        with library.atomic():
            library.set_info(f"{_key(app_id)}.library", sender)
            library.set_info(f"exchange.library.{sender}.peer", app_id)


def owed_files(library: Registry, key: str) -> tuple[FileRef, ...]:
    """The files still owed under ``key`` (a peer's pushes, or a pull from a sender)."""
    raw = library.info(f"{key}.wanted")
    if not raw:
        return ()
    try:
        return tuple(
            FileRef(str(d["certIdentifier"]), str(d["sm3"]), d.get("copyId")) for d in json.loads(raw)
        )
    except (ValueError, KeyError, TypeError, EcertError) as exc:
        raise RegistryError(f"the list of files owed under {key} is damaged ({exc})") from None


def set_owed_files(library: Registry, key: str, refs: Iterable[FileRef]) -> tuple[FileRef, ...]:
    """Replace the list of files owed under ``key`` (duplicates dropped, order kept)."""
    unique = tuple(dict.fromkeys(refs))
    if len(unique) > MAX_OWED:
        raise RegistryError(f"more than {MAX_OWED} files owed under {key}: deliver some first")
    library.set_info(f"{key}.wanted", json.dumps([r.to_dict() for r in unique], sort_keys=True))
    return unique
