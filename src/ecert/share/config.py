"""How an operator configures a running share service: paths and names, never secrets themselves.

``ecert serve`` passes its options to each uvicorn worker as ``ECERT_SHARE_*`` environment
variables (the workers are separate processes that each open the library once).  The service key
is a file, or an environment variable the operator names (``key_env``) holding its PEM; the
configuration carries the file's path or the variable's name, not the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ecert.app import known_certificates
from ecert.crypto.keys import load_private_key
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.crypto.x509 import load_certificates
from ecert.errors import InputError
from ecert.registry.base import Registry
from ecert.share.service import ShareService
from ecert.share.settings import ShareSettings

__all__ = ["ServeConfig", "open_library"]

_PREFIX = "ECERT_SHARE_"


def open_library(location: str) -> Registry:
    """The library at a path (SQLite) or a ``postgresql://`` URL."""
    from ecert.registry import open_registry

    return open_registry(location, create=False)


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """Where the library, the service key and the trust store are, and the operator's choices."""

    registry: str
    cert: str
    key: str | None = None  # a PEM file
    key_env: str | None = None  # or the name of an environment variable holding the PEM
    trust: str | None = None  # a directory of trusted roots (file and QR verification)
    token_profile: bool = True
    rate_limit: int | None = None
    max_body: int = 16 * 1024 * 1024
    threads: int = 4
    ticket_seconds: int = 600  # a one-time URL's life (the specification's 10 minutes; tests shorten it)
    max_rows: int = 500

    def __post_init__(self) -> None:
        if (self.key is None) == (self.key_env is None):
            raise InputError(
                "give the service key as a file or as an environment variable name, not both",
                where="key",
                expected="--key FILE or --key-env NAME",
            )

    def to_environment(self) -> dict[str, str]:
        values = {
            "REGISTRY": self.registry,
            "CERT": self.cert,
            "KEY": self.key,
            "KEY_ENV": self.key_env,
            "TRUST": self.trust,
            "TOKENS": "1" if self.token_profile else "0",
            "RATE_LIMIT": None if self.rate_limit is None else str(self.rate_limit),
            "MAX_BODY": str(self.max_body),
            "THREADS": str(self.threads),
            "TICKET_SECONDS": str(self.ticket_seconds),
            "MAX_ROWS": str(self.max_rows),
        }
        return {_PREFIX + k: v for k, v in values.items() if v is not None}

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> ServeConfig:
        def get(name: str) -> str | None:
            return env.get(_PREFIX + name) or None

        registry, cert = get("REGISTRY"), get("CERT")
        if registry is None or cert is None:
            raise InputError("the share service needs ECERT_SHARE_REGISTRY and ECERT_SHARE_CERT")
        try:
            rate = get("RATE_LIMIT")
            return cls(
                registry,
                cert,
                key=get("KEY"),
                key_env=get("KEY_ENV"),
                trust=get("TRUST"),
                token_profile=get("TOKENS") != "0",
                rate_limit=None if rate is None else int(rate),
                max_body=int(get("MAX_BODY") or 16 * 1024 * 1024),
                threads=int(get("THREADS") or 4),
                ticket_seconds=int(get("TICKET_SECONDS") or 600),
                max_rows=int(get("MAX_ROWS") or 500),
            )
        except ValueError as exc:
            raise InputError(f"a share service setting is not a number: {exc}") from None

    def signer(self) -> Signer:
        if self.key_env is not None:
            pem = os.environ.get(self.key_env)
            if not pem:
                raise InputError("the named environment variable holds no key", where=self.key_env)
            key_data = pem.encode("utf-8")
        else:
            assert self.key is not None
            key_data = _read(self.key, "service key")
        certs = load_certificates(_read(self.cert, "service certificate"))
        if not certs:
            raise InputError("no certificate in the file", where=self.cert)
        return Signer(load_private_key(key_data), certs[0], tuple(certs[1:]))

    def settings(self) -> ShareSettings:
        trust = TrustStore.from_directory(self.trust) if self.trust else None
        known = known_certificates(Path(self.trust)) if self.trust else ()
        return ShareSettings(
            trust=trust,
            certificates=known,
            token_profile=self.token_profile,
            rate_limit=self.rate_limit,
            max_body=self.max_body,
            ticket_ttl=timedelta(seconds=self.ticket_seconds),
            max_rows=self.max_rows,
        )

    def service(self) -> ShareService:
        return ShareService(open_library(self.registry), self.signer(), self.settings())


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the {what} ({exc.strerror})", where=path) from None
