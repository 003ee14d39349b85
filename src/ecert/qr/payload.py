"""QR payload grammar (spec/qr.md): the offline signed payload and the reference payload.

Offline payload ``EC2:<Base41 of the binary record>`` — what a clerk must see plus the
issuer's signature, readable without a network.  Its characters (``0-9 A-Z + - . / :``) survive a
shell unquoted and stay in the QR alphanumeric set; codes printed before (``EC1:`` with Base45,
whose alphabet has space, ``$`` and ``*``) are still read::

    record    = header body signature
    header    = version(1)=0x01 flags(1) alg(1) key_id(8)
    body      = fields [abridgement], zlib-compressed when flags bit 0 is set
    signature = 64 bytes (SM2 or ECDSA P-256 r||s, or Ed25519), over header ‖ body as sent

Reference payload ``[<URL prefix>]ECR1:<identifier>:<SM3 of the signed OFD, 64 hex>`` — lets a
scanner fetch or match the file.  All characters are in the QR alphanumeric set when the
department's URL prefix is written in capitals.
"""

from __future__ import annotations

import enum
import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ecert.errors import InputError, InvalidQRPayload
from ecert.qr.base41 import ALPHABET as SHELL_SAFE
from ecert.qr.base41 import b41decode, b41encode
from ecert.qr.base45 import b45decode

__all__ = [
    "ABRIDGEABLE",
    "LEGACY_OFFLINE_PREFIX",
    "MAX_RECORD_BYTES",
    "OFFLINE_PREFIX",
    "OFFLINE_PREFIXES",
    "REFERENCE_PREFIX",
    "Abridgement",
    "Claims",
    "OfflineRecord",
    "QRAlgorithm",
    "ReferencePayload",
    "decode_offline",
    "encode_offline",
    "is_offline",
    "parse_reference",
    "reference_payload",
]

OFFLINE_PREFIX = "EC2:"  # Base41, shell-safe: what ecert writes
LEGACY_OFFLINE_PREFIX = "EC1:"  # Base45: codes printed before, still read
OFFLINE_PREFIXES = (OFFLINE_PREFIX, LEGACY_OFFLINE_PREFIX)
REFERENCE_PREFIX = "ECR1:"
FORMAT_VERSION = 1
KEY_ID_SIZE = 8
SIGNATURE_SIZE = 64
MAX_PAYLOAD_CHARS = 4296  # the largest QR symbol (version 40-L, alphanumeric); anything longer is not ours
_MAX_BODY = 4096
# the offline budget: QR version 15 at level M holds 600 alphanumeric characters, the prefix takes 4
# and Base41 three for two bytes, so header + body + signature <= 397 bytes (spec/qr.md)
MAX_RECORD_BYTES = (600 - len(OFFLINE_PREFIX)) // 3 * 2 + 1
#: Text fields a record may carry shortened (with an SM3 digest of the full text) to fit the budget;
#: codes that rebuild the identifier never are.
ABRIDGEABLE = ("certificate_name", "number", "issuer_name", "holder_name")

#: Characters a reference payload's URL prefix may use: shell-safe (no ``? & # $ = ; space``...);
#: capitals, digits and ``+-./:`` keep it in QR alphanumeric mode.
URL_PREFIX_CHARS = frozenset(SHELL_SAFE + "abcdefghijklmnopqrstuvwxyz_")
_FLAG_ZLIB = 0x01
_FLAG_LONG_TERM = 0x02
_FLAG_ABRIDGED = 0x04
DIGEST_SIZE = 32
_EPOCH = date(1970, 1, 1)


class QRAlgorithm(enum.IntEnum):
    """Signature algorithm codes of the offline payload (one byte)."""

    SM2_SM3 = 1
    ECDSA_P256_SHA256 = 2
    ED25519 = 3


@dataclass(frozen=True, slots=True)
class Abridgement:
    """Which text fields a payload carries shortened, and what binds their full text.

    A field too long for the QR budget is carried as its first characters; ``digest`` is SM3 over
    ``text(full value)`` of each shortened field in field order, signed with the rest, so a
    verifier shows the shortened text as shortened and can check a full text it is given
    (:func:`ecert.qr.offline.full_text_matches`) — never a silent truncation.
    """

    fields: tuple[tuple[str, int], ...]  # (field name, full length in characters), in field order
    digest: bytes  # SM3, 32 bytes


@dataclass(frozen=True, slots=True)
class Claims:
    """The metadata a clerk must see, as carried in the offline payload."""

    certificate_name: str
    type_code: str
    number: str
    issuer_name: str
    issuer_code: str
    identifier_issuer: str  # the issuer part of the identifier (usually == issuer_code)
    serial: str
    version: int
    holder_name: str
    holder_code: str
    holder_code_type_code: str
    issue_date: date
    valid_from: date | None
    valid_until: date | None
    long_term: bool
    signed_at: datetime  # when the issuer signed the payload (its certificate is judged then)
    abridged: Abridgement | None = None  # set when long text fields are carried shortened


@dataclass(frozen=True, slots=True)
class OfflineRecord:
    """A decoded offline payload: the claims, who signed (key id, algorithm), the signature
    and the exact bytes it covers."""

    claims: Claims
    algorithm: QRAlgorithm
    key_id: bytes
    signed_bytes: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class ReferencePayload:
    """A reference payload: where to fetch the file (``prefix``), its identifier and its SM3."""

    prefix: str
    identifier: str
    digest: bytes  # SM3 of the signed OFD file

    def __str__(self) -> str:
        return f"{self.prefix}{REFERENCE_PREFIX}{self.identifier}:{self.digest.hex().upper()}"


# --- fields ----------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    if n < 0:
        raise ValueError("negative varint")
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def varint(self, what: str) -> int:
        n = shift = 0
        while True:
            if self.pos >= len(self.data):
                raise InvalidQRPayload("offline payload ends inside a field", where=what)
            byte = self.data[self.pos]
            self.pos += 1
            n |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return n
            shift += 7
            if shift > 42:
                raise InvalidQRPayload("number too large in offline payload", where=what)

    def text(self, what: str) -> str:
        length = self.varint(what)
        end = self.pos + length
        if end > len(self.data):
            raise InvalidQRPayload("offline payload ends inside a field", where=what)
        raw = self.data[self.pos : end]
        self.pos = end
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidQRPayload("field is not UTF-8 text", where=what) from None

    def day(self, what: str, optional: bool) -> date | None:
        n = self.varint(what)
        if optional:
            if n == 0:
                return None
            n -= 1
        try:
            return _EPOCH + timedelta(days=n)
        except OverflowError:
            raise InvalidQRPayload("date out of range", where=what, value=n) from None


_TEXT_FIELDS = (
    "certificate_name",
    "type_code",
    "number",
    "issuer_name",
    "issuer_code",
    "identifier_issuer",
    "serial",
    "holder_name",
    "holder_code",
    "holder_code_type_code",
)


def _encode_body(c: Claims) -> bytes:
    out = bytearray()
    for name in _TEXT_FIELDS:
        value = getattr(c, name)
        if name == "identifier_issuer" and value == c.issuer_code:
            value = ""  # the usual case costs one byte
        raw = value.encode("utf-8")
        out += _varint(len(raw)) + raw
    out += _varint(c.version)
    out += _varint((c.issue_date - _EPOCH).days)
    out += _varint(0 if c.valid_from is None else (c.valid_from - _EPOCH).days + 1)
    out += _varint(0 if c.valid_until is None else (c.valid_until - _EPOCH).days + 1)
    out += _varint(int(c.signed_at.timestamp()))
    if c.abridged is not None:
        mask = 0
        for name, _length in c.abridged.fields:
            mask |= 1 << _TEXT_FIELDS.index(name)
        out += _varint(mask)
        for _name, length in c.abridged.fields:
            out += _varint(length)
        out += c.abridged.digest
    return bytes(out)


def text_field(value: str) -> bytes:
    """``text`` of the grammar: varint(length in bytes) and the UTF-8 bytes (what abridged digests cover)."""
    raw = value.encode("utf-8")
    return _varint(len(raw)) + raw


def _decode_abridgement(r: _Reader, texts: dict[str, str]) -> Abridgement:
    mask = r.varint("abridged fields")
    names = [name for i, name in enumerate(_TEXT_FIELDS) if mask >> i & 1]
    if not names or mask >> len(_TEXT_FIELDS) or any(n not in ABRIDGEABLE for n in names):
        raise InvalidQRPayload("bad abridged-field mask", where="abridged fields", value=mask)
    fields = []
    for name in names:
        length = r.varint(f"full length of {name}")
        if length <= len(texts[name]):
            raise InvalidQRPayload("an abridged field is not shorter than its full text", where=name)
        fields.append((name, length))
    digest = r.data[r.pos : r.pos + DIGEST_SIZE]
    if len(digest) != DIGEST_SIZE:
        raise InvalidQRPayload("offline payload ends inside the abridged fields' digest")
    r.pos += DIGEST_SIZE
    return Abridgement(tuple(fields), digest)


def _decode_body(body: bytes, long_term: bool, abridged: bool) -> Claims:
    r = _Reader(body)
    texts = {name: r.text(name) for name in _TEXT_FIELDS}
    if not texts["identifier_issuer"]:
        texts["identifier_issuer"] = texts["issuer_code"]
    version = r.varint("version")
    issue_date = r.day("issue_date", optional=False)
    valid_from = r.day("valid_from", optional=True)
    valid_until = r.day("valid_until", optional=True)
    try:
        signed_at = datetime.fromtimestamp(r.varint("signed_at"), UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidQRPayload("signing time out of range", where="signed_at") from None
    abridgement = _decode_abridgement(r, texts) if abridged else None
    if r.pos != len(body):
        raise InvalidQRPayload(
            "unexpected bytes after the last field of the offline payload", where=f"byte {r.pos}"
        )
    assert issue_date is not None
    return Claims(
        version=version,
        issue_date=issue_date,
        valid_from=valid_from,
        valid_until=valid_until,
        long_term=long_term,
        signed_at=signed_at,
        abridged=abridgement,
        **texts,
    )


def signed_part(claims: Claims, algorithm: QRAlgorithm, key_id: bytes) -> bytes:
    """The bytes the issuer signs: header ‖ body, the body compressed only when that is shorter.

    :param claims: what the payload states.
    :param algorithm: the signature algorithm code the header names.
    :param key_id: 8 bytes naming the signer's key (:func:`ecert.qr.offline.key_id`).
    :returns: header ‖ body, ready to be signed.
    :raises InvalidQRPayload: for a key id that is not 8 bytes.
    """
    if len(key_id) != KEY_ID_SIZE:
        raise InvalidQRPayload("key id must be 8 bytes", value=len(key_id), expected=str(KEY_ID_SIZE))
    body = _encode_body(claims)
    flags = (_FLAG_LONG_TERM if claims.long_term else 0) | (_FLAG_ABRIDGED if claims.abridged else 0)
    packed = zlib.compress(body, 9)
    if len(packed) < len(body):
        body, flags = packed, flags | _FLAG_ZLIB
    return bytes((FORMAT_VERSION, flags, int(algorithm))) + key_id + body


def encode_offline(signed: bytes, signature: bytes) -> str:
    """The payload text (``EC2:`` and Base41, shell-safe) for a signed record.

    :param signed: header ‖ body from :func:`signed_part`.
    :param signature: its 64-byte signature (r‖s, or Ed25519).
    :returns: the text to put in the QR code.
    :raises InvalidQRPayload: for a signature that is not 64 bytes.
    """
    if len(signature) != SIGNATURE_SIZE:
        raise InvalidQRPayload(
            "offline payload signatures are 64 bytes (r||s or Ed25519)", value=len(signature)
        )
    return OFFLINE_PREFIX + b41encode(signed + signature)


def is_offline(text: str) -> bool:
    """Whether ``text`` claims to be an offline payload (``EC2:``, or ``EC1:`` printed before).

    :param text: a QR code's text (surrounding whitespace ignored).
    """
    return isinstance(text, str) and text.strip().startswith(OFFLINE_PREFIXES)


def _text(payload: object) -> str:
    if not isinstance(payload, str):
        raise InvalidQRPayload("a QR payload is text", value=type(payload).__name__, expected="str")
    return payload.strip()


def decode_offline(text: str) -> OfflineRecord:
    """Parse an offline payload, new (``EC2:``, Base41) or printed before (``EC1:``, Base45).

    :param text: the QR code's text.
    :returns: the claims, the signer's key id and algorithm, the signature and the bytes it covers
        (the signature is not checked here: :func:`ecert.verify.qr.verify_offline` does).
    :raises InvalidQRPayload: for any malformation, naming what and where.
    """
    text = _text(text)
    if len(text) > MAX_PAYLOAD_CHARS:
        raise InvalidQRPayload("payload longer than any QR code holds", value=len(text))
    if text.startswith(OFFLINE_PREFIX):
        raw = b41decode(text[len(OFFLINE_PREFIX) :])
    elif text.startswith(LEGACY_OFFLINE_PREFIX):
        raw = b45decode(text[len(LEGACY_OFFLINE_PREFIX) :])
    else:
        raise InvalidQRPayload(
            "not an offline e-certificate payload",
            value=text[:12],
            expected=f"text starting with {OFFLINE_PREFIX!r} (or {LEGACY_OFFLINE_PREFIX!r})",
        )
    header = 3 + KEY_ID_SIZE
    if len(raw) < header + SIGNATURE_SIZE + 1:
        raise InvalidQRPayload("offline payload too short", value=len(raw))
    version, flags, alg = raw[0], raw[1], raw[2]
    if version != FORMAT_VERSION:
        raise InvalidQRPayload("unsupported offline payload version", value=version, expected="1")
    if flags & ~(_FLAG_ZLIB | _FLAG_LONG_TERM | _FLAG_ABRIDGED):
        raise InvalidQRPayload("unknown flags in offline payload", value=flags)
    try:
        algorithm = QRAlgorithm(alg)
    except ValueError:
        raise InvalidQRPayload("unknown signature algorithm code", value=alg, expected="1, 2 or 3") from None
    signed, signature = raw[:-SIGNATURE_SIZE], raw[-SIGNATURE_SIZE:]
    body = signed[header:]
    if flags & _FLAG_ZLIB:
        try:
            d = zlib.decompressobj()
            body = d.decompress(body, _MAX_BODY)
            if d.unconsumed_tail or not d.eof:
                raise InvalidQRPayload("compressed body is truncated or too large")
        except zlib.error as exc:
            raise InvalidQRPayload(f"compressed body is corrupt ({exc})") from None
    claims = _decode_body(body, bool(flags & _FLAG_LONG_TERM), bool(flags & _FLAG_ABRIDGED))
    return OfflineRecord(claims, algorithm, signed[3:header], signed, signature)


def reference_payload(url_prefix: str, identifier: str, digest: bytes) -> ReferencePayload:
    """A new reference payload, its URL prefix checked to survive a shell unquoted.

    :param url_prefix: where the department serves files (``HTTPS://ZZ.EXAMPLE.GOV.CN/V/``), or ``""``.
    :param identifier: the certificate's identifier.
    :param digest: SM3 of the signed OFD file, 32 bytes.
    :returns: the payload (``str()`` gives its text).
    :raises InputError: for a prefix with a character a shell treats specially (``?``, ``&``, ``#``...)
        or a digest that is not 32 bytes.
    """
    bad = sorted({c for c in url_prefix if c not in URL_PREFIX_CHARS})
    if bad:
        raise InputError(
            "the URL prefix has characters a shell or a scanner's paste would break on",
            where="url prefix",
            value="".join(bad),
            expected="letters, digits and + - . / : _ (capitals keep the code small), e.g. HTTPS://ZZ.GOV.CN/V/",
        )
    if len(digest) != DIGEST_SIZE:
        raise InputError("a reference payload carries a 32-byte SM3 digest", value=len(digest))
    return ReferencePayload(url_prefix, identifier, digest)


def parse_reference(text: str) -> ReferencePayload:
    """Parse a reference payload ``[<URL prefix>]ECR1:<identifier>:<64 hex digits>``.

    :param text: the QR code's text.
    :returns: its prefix, identifier and SM3 digest of the file.
    :raises InvalidQRPayload: for text that is not a reference payload.
    """
    text = _text(text)
    if len(text) > MAX_PAYLOAD_CHARS:
        raise InvalidQRPayload("payload longer than any QR code holds", value=len(text))
    at = text.rfind(REFERENCE_PREFIX)
    if at < 0:
        raise InvalidQRPayload("not a reference payload", value=text[:40], expected=f"{REFERENCE_PREFIX}...")
    prefix, rest = text[:at], text[at + len(REFERENCE_PREFIX) :]
    identifier, sep, digest_hex = rest.rpartition(":")
    if not sep or len(digest_hex) != 64:
        raise InvalidQRPayload("reference payload needs '<identifier>:<64 hex digits>'", value=rest[-70:])
    try:
        digest = bytes.fromhex(digest_hex)
    except ValueError:
        raise InvalidQRPayload("digest is not hexadecimal", value=digest_hex) from None
    return ReferencePayload(prefix, identifier, digest)
