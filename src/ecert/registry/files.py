"""The library's files: each signed original, face and annotated copy, with its SM3 checked on every read.

Bytes live in ``certificate_files.content`` by default, or in a directory store named by SM3
(``file_store=``), written atomically (temporary name, fsync, rename) before the row that names it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecert.crypto.digests import sm3
from ecert.errors import InputError, RecordNotFound, RegistryError
from ecert.registry import arguments as arg
from ecert.registry.base import StoredFile
from ecert.registry.sql import SQLBackend, Tx

__all__ = ["MAX_FILE", "FileStore"]

_FILE_KINDS = ("original", "face", "copy")
MAX_FILE = 64 * 1024 * 1024  # a certificate file larger than this is not a certificate


class FileStore(SQLBackend):
    """Keeping and reading files (``certificate_files``)."""

    file_store: Path | None

    @staticmethod
    def _check_content(content: object, digest: str, identifier: str) -> bytes:
        if not isinstance(content, bytes | bytearray):
            raise InputError("file content must be bytes", where=identifier, value=type(content).__name__)
        if len(content) > MAX_FILE:
            raise InputError(
                "file too large for the library",
                where=identifier,
                value=len(content),
                expected=f"at most {MAX_FILE} bytes",
            )
        actual = sm3(bytes(content)).hex()
        if actual != digest:
            raise RegistryError(f"{identifier}: the file's SM3 is {actual}, not the recorded {digest}")
        return bytes(content)

    def _put_file(
        self,
        tx: Tx,
        identifier: str,
        kind: str,
        content: bytes,
        digest: str,
        content_type: str,
        when: datetime,
    ) -> StoredFile:
        path: str | None = None
        if self.file_store is not None:
            target = self.file_store / digest[:2] / digest
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                temp = target.with_name(f".{digest}.{os.getpid()}.tmp")
                with open(temp, "wb") as f:
                    f.write(content)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(temp, target)
            path = str(target)
        tx.run(
            "INSERT INTO certificate_files VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (identifier, kind) DO UPDATE "
            "SET digest=excluded.digest, size=excluded.size, content_type=excluded.content_type, "
            "content=excluded.content, store_path=excluded.store_path, created_at=excluded.created_at",
            (
                identifier,
                kind,
                digest,
                len(content),
                content_type,
                None if path else content,
                path,
                self.ts(when),
            ),
        )
        return StoredFile(identifier, kind, digest, len(content), content_type, path, when)

    def store_file(
        self, identifier: str, kind: str, content: bytes, *, content_type: str = "application/ofd"
    ) -> StoredFile:
        """Keep a file for a recorded certificate (or annotated copy): its face PNG, say."""
        arg.text(identifier, "identifier")
        if kind not in _FILE_KINDS:
            raise InputError("unknown file kind", where="kind", value=kind, expected=", ".join(_FILE_KINDS))
        arg.nonempty_text(content_type, "content_type")
        if not isinstance(content, bytes | bytearray):
            raise InputError("file content must be bytes", where=identifier, value=type(content).__name__)
        data = self._check_content(content, sm3(bytes(content)).hex(), identifier)
        with self._write() as tx:
            known = tx.one("SELECT 1 FROM certificates WHERE identifier=?", (identifier,)) or tx.one(
                "SELECT 1 FROM annotated_copies WHERE copy_id=?", (identifier,)
            )
            if known is None:
                raise RecordNotFound(f"no certificate {identifier} in {self.describe()}")
            return self._put_file(
                tx, identifier, kind, data, sm3(data).hex(), content_type, datetime.now(UTC)
            )

    def stored_file(self, identifier: str, kind: str = "original") -> StoredFile | None:
        arg.text(identifier, "identifier")
        with self._read() as tx:
            row = tx.one(
                "SELECT digest, size, content_type, store_path, created_at FROM certificate_files "
                "WHERE identifier=? AND kind=?",
                (identifier, kind),
            )
        if row is None:
            return None
        return StoredFile(identifier, kind, row[0], row[1], row[2], row[3], self.read_ts(row[4]))

    def read_file(self, identifier: str, kind: str = "original") -> bytes:
        """A stored file's bytes, after checking them against the recorded SM3 digest."""
        arg.text(identifier, "identifier")
        with self._read() as tx:
            row = tx.one(
                "SELECT digest, content, store_path FROM certificate_files WHERE identifier=? AND kind=?",
                (identifier, kind),
            )
        if row is None:
            raise RecordNotFound(f"no {kind} file of {identifier} in {self.describe()}")
        data = self._file_bytes(identifier, kind, row[1], row[2])
        if sm3(data).hex() != row[0]:
            raise RegistryError(f"the stored {kind} file of {identifier} is damaged: its SM3 is not {row[0]}")
        return data

    def _file_bytes(self, identifier: str, kind: str, content: Any, path: str | None) -> bytes:
        if content is not None:
            return bytes(content)
        if path is None:
            raise RegistryError(f"the {kind} file of {identifier} has neither content nor a store path")
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise RegistryError(
                f"the {kind} file of {identifier} cannot be read from {path}: {exc}"
            ) from None
