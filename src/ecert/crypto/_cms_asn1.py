"""Reading a CMS SignedData with asn1crypto: the general reader behind ``cms_parse.parse_cms``.

:mod:`ecert.crypto.cms_parse` reads the usual shape itself (what ecert, GmSSL and OpenSSL write) and
hands everything else here: other attributes, parameters, CRLs, unsigned attributes, refusals.  The
input has passed the strict DER walk; what needs the schema is checked here (``_check_envelope``).
Every asn1crypto failure becomes an :class:`~ecert.errors.InputError`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509

from ecert.crypto import oids
from ecert.crypto.cms_fields import SIGNED_DATA_TYPES, Attributes, Fields
from ecert.crypto.der import parser_reason
from ecert.errors import EcertError, InputError

__all__ = ["raw_issuer", "read_fields"]


def _register() -> None:
    """Teach asn1crypto the GB/T 35275 content types and the SM2/SM3 algorithm OIDs (idempotent).

    asn1crypto has no public registry for these maps; adding entries (never replacing one) is
    the documented way its own modules extend them.
    """
    cms.ContentType._map.setdefault(oids.GM_SIGNED_DATA, "gm_signed_data")
    cms.ContentType._map.setdefault(oids.GM_DATA, "gm_data")
    cms.ContentType._reverse_map = None
    cms.ContentInfo._oid_specs.setdefault("gm_signed_data", cms.SignedData)
    cms.ContentInfo._oid_specs.setdefault("gm_data", core.OctetString)
    algos.DigestAlgorithmId._map.setdefault(oids.SM3, "sm3")
    algos.DigestAlgorithmId._reverse_map = None
    algos.SignedDigestAlgorithmId._map.setdefault(oids.SM3_WITH_SM2, "sm3_sm2")
    algos.SignedDigestAlgorithmId._map.setdefault(oids.SM2_SIGNATURE, "sm2sign")
    algos.SignedDigestAlgorithmId._map.setdefault(oids.SM2_CURVE, "sm2")
    algos.SignedDigestAlgorithmId._reverse_map = None


_register()



def _malformed(what: str, exc: Exception) -> InputError:
    return InputError(f"malformed CMS {what} ({type(exc).__name__}: {exc})")


_ASN1_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError, RecursionError)


def _check_exact(value: core.Sequence, what: str) -> None:
    """The fields asn1crypto parsed must make up the whole SEQUENCE.

    asn1crypto skips elements after the last field it knows and bytes after an explicitly tagged
    value; DER has neither, and bytes nobody reads could change unnoticed.  (For SEQUENCEs without
    DEFAULT fields: an absent DEFAULT field would dump its default.)
    """
    if b"".join(value[name].dump() for name in value) != value.contents:
        raise InputError(
            f"CMS {what} is not DER: bytes after its last field or after an explicitly tagged value"
        )


def _check_round_trip(value: core.Asn1Value, what: str) -> None:
    """asn1crypto's full check, for parts that are small or rare (parameters, CRLs, unsigned attributes).

    Parsing every nested value and re-encoding finds what the DER walk cannot see without the
    schema: values of the wrong type, DEFAULT values encoded, elements asn1crypto would skip.  The
    value is re-encoded in place, which changes nothing when the check passes.
    """
    original = value.dump()
    if value.dump(force=True) != original:
        raise InputError(
            f"CMS {what}: not DER (a value of the wrong type, a DEFAULT value, bytes after a field)"
        )


def _check_algorithm(algorithm: core.Sequence, what: str) -> None:
    """An AlgorithmIdentifier whose parameters parse as the algorithm's, with nothing after its fields.

    Parameters other than NULL (RSASSA-PSS) may have DEFAULT fields: those take the round trip.
    """
    _check_exact(algorithm, what)
    if not isinstance(algorithm["parameters"], core.Void | core.Null):
        _check_round_trip(algorithm, what)


def _check_envelope(signed: cms.SignedData, signer_info: cms.SignerInfo) -> None:
    """What the DER walk cannot see in the structure around the signature, where no signature
    would notice a change: elements asn1crypto skips, parameters of the wrong type (see above)."""
    _check_exact(signed, "SignedData")
    _check_exact(signed["encap_content_info"], "EncapsulatedContentInfo")
    for algorithm in signed["digest_algorithms"]:
        _check_algorithm(algorithm, "digestAlgorithms")
    if not isinstance(signed["crls"], core.Void):
        _check_round_trip(signed["crls"], "revocation information")
    _check_exact(signer_info, "SignerInfo")
    sid = signer_info["sid"]
    if sid.name == "issuer_and_serial_number":
        _check_exact(sid.chosen, "issuerAndSerialNumber")
    _check_algorithm(signer_info["digest_algorithm"], "SignerInfo digestAlgorithm")
    _check_algorithm(signer_info["signature_algorithm"], "SignerInfo signatureAlgorithm")
    if not isinstance(signer_info["unsigned_attrs"], core.Void):
        _check_round_trip(signer_info["unsigned_attrs"], "unsigned attributes")


def read_fields(der: bytes) -> Fields:
    """The fields of a DER ContentInfo(SignedData) that passed the strict DER walk."""
    try:
        info = cms.ContentInfo.load(der, strict=True)
        _check_exact(info, "ContentInfo")
        ctype = info["content_type"].dotted
        if ctype not in SIGNED_DATA_TYPES:
            raise InputError(
                f"content type {ctype} is not SignedData",
                expected=f"{oids.PKCS7_SIGNED_DATA} or {oids.GM_SIGNED_DATA}",
            )
        signed = info["content"]
        if not isinstance(signed, cms.SignedData):
            raise InputError("SignedData content missing")
    except EcertError:
        raise
    except _ASN1_ERRORS as exc:
        raise _malformed("ContentInfo", exc) from None
    return _read_signed_data(ctype, signed)


def _read_signed_data(ctype: str, signed: cms.SignedData) -> Fields:
    try:
        signer_infos = list(signed["signer_infos"])
        if len(signer_infos) != 1:
            raise InputError(
                f"CMS has {len(signer_infos)} SignerInfos; exactly one is supported", where="signerInfos"
            )
        carried = signed["certificates"]
        choices = list(carried) if isinstance(carried, cms.CertificateSet) else []
        if any(c.name != "certificate" for c in choices):
            raise InputError("the CMS certificate set holds something other than X.509 certificates")
        certs_der = [c.chosen.dump() for c in choices]
        sd_version = signed["version"].native
        digest_algs = [a["algorithm"].dotted for a in signed["digest_algorithms"]]
        encap = signed["encap_content_info"]
        econtent_type = encap["content_type"].dotted
        raw_content = encap["content"]
        if isinstance(raw_content, core.Void):
            content = None
        elif isinstance(raw_content, core.OctetString | core.ParsableOctetString):
            content = bytes(raw_content)
        else:
            raise InputError(f"encapsulated content of type {econtent_type} is not supported (data only)")
        si = signer_infos[0]
        _check_envelope(signed, si)
        sid = si["sid"]
        version = si["version"].native
        digest_oid = si["digest_algorithm"]["algorithm"].dotted
        sig_oid = si["signature_algorithm"]["algorithm"].dotted
        sig_params = si["signature_algorithm"]["parameters"]
        sig_params_der = None if isinstance(sig_params, core.Void | core.Null) else bytes(sig_params.dump())
        signature = bytes(si["signature"].native)
        has_unsigned = not isinstance(si["unsigned_attrs"], core.Void)
        attrs = si["signed_attrs"]
        has_attrs = not isinstance(attrs, core.Void)
        attrs_der = b"\x31" + attrs.dump()[1:] if has_attrs else None  # [0] IMPLICIT -> SET OF
        values = _attribute_values(attrs) if has_attrs else Attributes()
        if sid.name == "issuer_and_serial_number":
            issuer_der, serial, key_id = sid.chosen["issuer"].dump(), sid.chosen["serial_number"].native, None
        else:
            issuer_der, serial, key_id = None, None, bytes(sid.chosen.native)
    except EcertError:
        raise
    except _ASN1_ERRORS as exc:
        raise _malformed("SignedData", exc) from None
    return Fields(
        content_type=ctype,
        sd_version=sd_version,
        digest_algorithms=digest_algs,
        encapsulated_content_type=econtent_type,
        content=content,
        certificates_der=[bytes(c) for c in certs_der],
        version=version,
        digest_oid=digest_oid,
        signature_oid=sig_oid,
        signature_params_der=sig_params_der,
        signature=signature,
        has_unsigned_attrs=has_unsigned,
        signed_attrs_der=attrs_der,
        attributes=values,
        issuer_der=None if issuer_der is None else bytes(issuer_der),
        serial_number=serial,
        key_id=key_id,
    )


def _attribute_values(attrs: cms.CMSAttributes) -> Attributes:
    """contentType, messageDigest and signingTime, each present at most once with one value."""
    wanted = {oids.ATTR_CONTENT_TYPE, oids.ATTR_MESSAGE_DIGEST, oids.ATTR_SIGNING_TIME}
    seen: set[str] = set()
    found = Attributes()
    for attr in attrs:
        _check_exact(attr, "signed attribute")
        oid = attr["type"].dotted
        if oid not in wanted:
            continue
        values = list(attr["values"])
        if oid in seen or len(values) != 1:
            raise InputError(f"signed attribute {oid} must occur once with one value (RFC 5652 §11)")
        seen.add(oid)
        value = values[0]
        if oid == oids.ATTR_CONTENT_TYPE:
            found = replace(found, content_type=value.dotted)
        elif oid == oids.ATTR_MESSAGE_DIGEST:
            found = replace(found, message_digest=bytes(value.native))
        else:
            when = value.native
            if not isinstance(when, datetime):
                raise InputError("signingTime is not a time", value=when)
            found = replace(found, signing_time=when.astimezone(UTC))
    return found


def raw_issuer(certificate_der: bytes) -> bytes:
    """The issuer Name of a certificate exactly as encoded (what issuerAndSerialNumber repeats)."""
    try:
        return bytes(asn1_x509.Certificate.load(certificate_der)["tbs_certificate"]["issuer"].dump())
    except (ValueError, TypeError, KeyError) as exc:  # pragma: no cover - Certificate parsed it already
        raise InputError(f"malformed certificate ({parser_reason(exc)})") from None
