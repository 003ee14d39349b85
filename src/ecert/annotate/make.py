"""Make an annotated copy (加注件): the signed original, untouched, in a watermarked, re-signed copy.

Vendors watermark the signed file itself, which breaks the original's signature or leaves the
watermark unsigned (``../shared/INTERFACES.md`` §3).  Here the original's files stay byte for byte
(:mod:`ecert.annotate.layer`) and the releasing organisation signs the whole copy — the original's
signature files included — with a second signature, so both can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ecert.annotate.layer import build_layer
from ecert.annotate.model import CopyLevel, CopyLimits, CopyMetadata, new_copy_id
from ecert.crypto.digests import sm3
from ecert.crypto.signer import Signer
from ecert.crypto.trust import TrustStore
from ecert.errors import EcertError, InputError, InvalidAnnotatedCopy
from ecert.metadata.document import parse_certificate_xml
from ecert.ofd.reader import OFDPackage
from ecert.ofd.signatures import check_references, uncovered_entries
from ecert.package import Issuer, sign_package
from ecert.times import aware_or_now
from ecert.verify.content import ATTACHMENT_NAME

__all__ = ["AnnotatedCopy", "annotate", "releasing_organisation"]


@dataclass(frozen=True, slots=True)
class AnnotatedCopy:
    """A made copy: the signed OFD bytes and the metadata they carry."""

    data: bytes
    metadata: CopyMetadata

    @property
    def file_name(self) -> str:
        """``<copy id>.ofd``: a copy is stored and handed out under its own identifier."""
        return f"{self.metadata.copy_id}.ofd"


def releasing_organisation(signer: Signer) -> str:
    """The organisation the watermark names: the signer certificate's O.

    Taken from the certificate, not from the caller, so that the verifier can hold the
    watermark's "此件由××机构提供" to the certificate that signed it.  A CN is not an organisation:
    a personal certificate whose CN reads like one may not release copies.
    """
    cert = signer.certificate
    names = cert.subject_attribute("2.5.4.10")
    if not names:
        raise InvalidAnnotatedCopy(
            "the signer certificate names no organisation (O)",
            where="signer certificate",
            value=cert.subject,
        )
    return names[0]


def _original_identifier(pkg: OFDPackage, trust: TrustStore | None, data: bytes, at: datetime) -> str:
    """The original's identifier, from its signed metadata; refuse a broken or unsigned original."""
    where = "original"
    if trust is not None:
        from ecert.verify import verify

        report = verify(data, trust=trust, at=at)
        if not report.ok or report.identifier is None:
            failed = "; ".join(f"{c.name}: {c.message}" for c in report.failures) or "required checks missing"
            raise InvalidAnnotatedCopy(f"the original does not verify: {failed}", where=where)
        return report.identifier
    signatures = pkg.signatures(0)
    if not signatures:
        raise InvalidAnnotatedCopy(
            "the original carries no signature", where=where, expected="a signed e-certificate file"
        )
    for sig in signatures:
        bad = [r.entry_name for r in check_references(pkg, sig) if not r.ok]
        if bad:
            raise InvalidAnnotatedCopy("the original was changed after signing", where=where, value=bad)
    uncovered = uncovered_entries(pkg, 0)
    if uncovered:
        raise InvalidAnnotatedCopy(
            "the original holds files no signature covers", where=where, value=list(uncovered)
        )
    attachment = next((a for a in pkg.document(0).attachments if a.name == ATTACHMENT_NAME), None)
    if attachment is None:
        raise InvalidAnnotatedCopy(
            "the original carries no e-certificate metadata",
            where=where,
            expected=f"an attachment named {ATTACHMENT_NAME!r}",
        )
    metadata, _ = parse_certificate_xml(pkg.entries[attachment.file_loc])
    return str(metadata.identifier)


def annotate(
    original: bytes,
    signer: Signer | Issuer,
    *,
    reason: str,
    maker: str,
    until: date,
    level: CopyLevel | str = CopyLevel.A,
    at: datetime | None = None,
    limits: CopyLimits | None = None,
    copy_id: str | None = None,
    trust: TrustStore | None = None,
) -> AnnotatedCopy:
    """An annotated copy of the signed ``original`` for ``reason``, valid to the end of ``until``.

    ``signer`` is the releasing organisation's key (its certificate's O is the organisation the
    watermark names); ``at`` is the making time (default now, timezone-aware); ``limits`` the
    organisation's rules (default: at most 90 days, a reason of 1-200 characters).  With ``trust``
    the original must verify at ``at``; without it, its signatures must at least be intact and
    cover every file.  Raises :class:`~ecert.errors.InvalidAnnotatedCopy` naming what was refused.
    """
    when = aware_or_now(at, "at").replace(microsecond=0)
    issuer = Issuer(signer) if isinstance(signer, Signer) else signer
    if not isinstance(issuer, Issuer):
        raise InputError("signer must be a Signer or an Issuer", where="signer", value=type(signer).__name__)
    if not isinstance(original, (bytes, bytearray)):
        raise InputError("the original must be bytes", where="original", value=type(original).__name__)
    try:
        copy_level = level if isinstance(level, CopyLevel) else CopyLevel(level)
    except ValueError:
        raise InvalidAnnotatedCopy("unknown level", where="level", value=level, expected="A or B") from None
    data = bytes(original)
    try:
        pkg = OFDPackage.open(data)
        identifier = _original_identifier(pkg, trust, data, when)
    except InvalidAnnotatedCopy:
        raise
    except EcertError as exc:
        raise InvalidAnnotatedCopy(f"the original cannot be read: {exc}", where="original") from None
    metadata = CopyMetadata(
        copy_id=new_copy_id() if copy_id is None else copy_id,
        made_at=when,
        maker=maker,
        reason=reason,
        valid_until=until,
        level=copy_level,
        organisation=releasing_organisation(issuer.signer),
        original_identifier=identifier,
        original_sm3=sm3(data).hex(),
    )
    if limits is not None and not isinstance(limits, CopyLimits):
        raise InputError("limits must be CopyLimits", where="limits", value=type(limits).__name__)
    metadata.check_limits(limits or CopyLimits())
    unsigned = OFDPackage.from_entries(build_layer(data, pkg, metadata))
    return AnnotatedCopy(sign_package(unsigned, issuer, at=when), metadata)
