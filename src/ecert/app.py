"""File-level tasks shared by the CLI and the example scripts: load trust and status sources,
verify files and QR inputs, issue one certificate from a record file, inspect a file.

The library works on bytes and values; this module adds paths and the conventions of a
department's working directory, so that the CLI stays a thin shell.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecert.crypto.digests import sm3
from ecert.crypto.trust import TrustStore, certificate_files
from ecert.crypto.x509 import Certificate, load_certificates
from ecert.errors import InputError, InvalidQRPayload
from ecert.verify.report import ReportBuilder, VerificationReport
from ecert.verify.status import StatusSource

if TYPE_CHECKING:
    from ecert.catalog import Catalog, CertificateType
    from ecert.crypto.signer import Signer  # for the issuing tasks; verifying signs nothing

__all__ = [
    "KNOWN_CERTIFICATES_DIR",
    "decode_qr_image",
    "inspect_file",
    "issue_record_file",
    "known_certificates",
    "load_certificate_files",
    "load_status_source",
    "load_trust",
    "verify_files",
    "verify_qr_input",
    "verify_qr_text",
]

MAX_INPUT_FILE = 64 * 1024 * 1024
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pdf"}
MAX_SCAN_PAGES = 50  # pages of a multi-page TIFF or PDF searched for the code
PDF_DPI = 200  # a scanned page rasterised at this resolution: QR modules of ~0.5 mm are 4 px


def write_private_file(path: Path, data: bytes) -> None:
    """Write a private key (or anything secret) readable by its owner only (mode 0600), also when
    the file existed with wider permissions: a key readable by every user of the machine is a key
    every user can sign with."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fd = -1
            fh.write(data)
    finally:
        if fd >= 0:
            os.close(fd)


def read_input(path: Path, what: str = "file") -> bytes:
    """Read a user-given file with a size limit (errors name the file)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read {what} ({exc.strerror})", where=str(path)) from None
    if size > MAX_INPUT_FILE:
        raise InputError(
            f"{what} too large", where=str(path), value=size, expected=f"<= {MAX_INPUT_FILE} bytes"
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} ({exc.strerror})", where=str(path)) from None


def load_trust(path: Path) -> TrustStore:
    """A trust store from a directory of certificates or from one file."""
    if path.is_dir():
        return TrustStore.from_directory(path)
    if path.is_file():
        return TrustStore.from_files(path)
    raise InputError("trust store not found", where=str(path), expected="a directory or a certificate file")


# Department certificates a verifier knows (not anchors: each must still chain to one) live in
# this folder of a trust directory, so that ``--trust DIR`` alone verifies offline QR payloads,
# which name their signer only by key id (spec/qr.md).
KNOWN_CERTIFICATES_DIR = "issuers"


def load_certificate_files(paths: Iterable[Path]) -> tuple[Certificate, ...]:
    """Certificates from files, or from every certificate file (*.pem, *.crt, *.cer, *.der) of a folder."""
    certs: list[Certificate] = []
    for p in paths:
        for f in certificate_files(p) if p.is_dir() else [p]:
            certs.extend(load_certificates(read_input(f, "certificate file")))
    return tuple(certs)


def known_certificates(trust_path: Path, extra: Iterable[Path] = ()) -> tuple[Certificate, ...]:
    """The department certificates for QR verification: ``<trust DIR>/issuers/`` plus ``extra``."""
    folder = trust_path / KNOWN_CERTIFICATES_DIR
    own = [folder] if trust_path.is_dir() and folder.is_dir() else []
    return load_certificate_files([*own, *extra])


def load_status_source(
    *,
    status_list: Path | None,
    registry: Path | None,
    trust: TrustStore,
    at: datetime | None,
    max_age: timedelta | None = None,
) -> StatusSource | None:
    """A signed status list (``max_age``: the reader's limit for lists that promise no next update,
    default that of :meth:`StatusList.load`) or a registry, or None."""
    if status_list is not None:
        from ecert.registry.statuslist import DEFAULT_MAX_AGE, StatusList

        data = read_input(status_list, "status list")
        return StatusList.load(data, trust=trust, at=at, max_age=max_age or DEFAULT_MAX_AGE)
    if registry is not None:
        from ecert.registry import open_registry

        if isinstance(registry, Path) and not registry.is_file():
            raise InputError("registry not found", where=str(registry))
        return open_registry(registry, create=False)
    return None


def load_status_lists(
    paths: Iterable[Path], *, trust: TrustStore, at: datetime | None, max_age: timedelta | None = None
) -> tuple[StatusSource, ...]:
    """Signed status lists from files, or every ``*.json`` of a folder (a window serving many
    departments keeps one list per department); each is checked as :meth:`StatusList.load` does.

    Raises :class:`InputError` naming the file of a list that is unreadable, untrusted or stale.
    """
    from ecert.errors import EcertError

    sources: list[StatusSource] = []
    for path in paths:
        files = sorted(path.glob("*.json")) if path.is_dir() else [path]
        if path.is_dir() and not files:
            raise InputError("no status list (*.json) in the folder", where=str(path))
        for f in files:
            try:
                source = load_status_source(status_list=f, registry=None, trust=trust, at=at, max_age=max_age)
            except EcertError as exc:
                raise InputError(f"status list {f}: {exc}") from None
            if source is not None:
                sources.append(source)
    return tuple(sources)


def status_for(sources: Sequence[StatusSource], issuer_code: str | None) -> StatusSource | None:
    """The source that speaks for ``issuer_code`` among several (the first when none does, so that the
    status check says it has no answer for that department; the one given when there is one)."""
    if not sources:
        return None
    for source in sources:
        codes = source.issuer_codes
        if codes is None or (issuer_code is not None and issuer_code in codes):
            return source
    return sources[0]


def _peek_issuer_code(data: bytes) -> str | None:
    """The issuer code a file claims (NOT verified): only to pick which status list to ask."""
    try:
        metadata, _items = read_certificate_parts(data)
    except Exception:  # anything unreadable is the verifier's to report, not this peek's
        return None
    return str(metadata.issuer_code)


def _payload_issuer_code(text: str) -> str | None:
    """The issuer code an offline payload claims (NOT verified): only to pick the status list."""
    from ecert.qr.payload import decode_offline

    try:
        return decode_offline(text).claims.issuer_code
    except Exception:  # a malformed payload is the verifier's to report
        return None


def certificate_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, and for a folder every ``*.ofd`` in it (sorted)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(p.glob("*.ofd"))
            if not found:
                raise InputError("no certificate file (*.ofd) in the folder", where=str(p))
            out.extend(found)
        else:
            out.append(p)
    return out


def verify_file(
    path: str | Path,
    *,
    trust: TrustStore,
    at: datetime | None = None,
    status: StatusSource | Sequence[StatusSource] | None = None,
) -> VerificationReport:
    """Verify the certificate file at ``path`` (:func:`ecert.verify` takes its bytes).

    ``status`` is one source or several (one signed list per department: the one that speaks for
    the file's issuer is asked).  Raises :class:`InputError` for a file that cannot be read.

    :param path: the certificate file (``.ofd``).
    :param trust: the trust anchors the signer must chain to.
    :param at: verification time (timezone-aware; default now).
    :param status: where to ask for the certificate's status, one source or one per department.
    :returns: the report of every check.
    :raises InputError: for a file that cannot be read, or a naive ``at``.
    """
    from ecert.verify import verify

    path = Path(path)
    data = read_input(path, "certificate file")
    if status is not None and not isinstance(status, StatusSource):
        status = status_for(list(status), _peek_issuer_code(data))
    return verify(data, trust=trust, at=at, status=status, source=str(path))


def verify_files(
    paths: Sequence[Path],
    *,
    trust: TrustStore,
    at: datetime | None,
    status: StatusSource | Sequence[StatusSource] | None,
) -> list[VerificationReport]:
    """:func:`verify_file` for each path (a folder: each ``*.ofd`` in it)."""
    return [verify_file(p, trust=trust, at=at, status=status) for p in certificate_paths(paths)]


def decode_qr_image(path: Path) -> str:
    """The text of the one QR code in a scan: PNG, JPEG, TIFF (every page), PDF (every page).

    A damaged image is an :class:`InputError` (Pillow reports damage in many ways, listed in
    :data:`ecert.face.IMAGE_ERRORS`, so ``ecert verify --qr`` never shows a traceback); no code
    found is an :class:`InvalidQRPayload` saying what to try.  PDF pages are rasterised with
    pypdfium2 (the ``pdf`` extra); without it a PDF is refused, saying so.

    :param path: the scan.
    :returns: the QR code's text.
    :raises InputError: for a file that cannot be read as an image or PDF.
    :raises InvalidQRPayload: for no readable QR code, or several different ones.
    """
    import os

    import zxingcpp

    if not isinstance(path, (str, os.PathLike)):
        raise InputError("not a path", where="path", value=type(path).__name__, expected="str or Path")
    path = Path(path)
    texts: list[str] = []
    for page in _scan_pages(path):
        results = zxingcpp.read_barcodes(page, text_mode=zxingcpp.TextMode.Plain)  # as read_qr reads
        texts.extend(r.text for r in results if r.valid and r.format == zxingcpp.BarcodeFormat.QRCode)
    if not texts:
        raise InvalidQRPayload(
            "no readable QR code found in the image; try: crop the picture to the code with a margin "
            "around it, scan at a higher resolution (300 dpi, or a photo filling the frame), avoid glare "
            "and blur; or give the text under the code with --qr EC2:...",
            where=str(path),
        )
    if len(set(texts)) > 1:
        raise InvalidQRPayload("the image holds several different QR codes: crop it to one", where=str(path))
    return str(texts[0])


def _scan_pages(path: Path) -> Iterator[Any]:
    """Every page of a scan as a greyscale Pillow image (at most :data:`MAX_SCAN_PAGES`)."""
    from PIL import Image, ImageSequence

    from ecert.face import IMAGE_ERRORS

    if path.suffix.lower() == ".pdf" or _starts_with(path, b"%PDF"):
        yield from _pdf_pages(path)
        return
    try:
        with Image.open(path) as img:
            for n, frame in enumerate(ImageSequence.Iterator(img)):
                if n >= MAX_SCAN_PAGES:
                    break
                frame.load()
                yield frame.convert("L")
    except IMAGE_ERRORS as exc:
        raise InputError(f"cannot read image ({str(exc) or type(exc).__name__})", where=str(path)) from None


def _starts_with(path: Path, magic: bytes) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(magic)) == magic
    except OSError:
        return False


def _pdf_pages(path: Path) -> Iterator[Any]:
    try:
        import pypdfium2
    except ImportError:
        raise InputError(
            "reading a PDF scan needs pypdfium2, which is not installed",
            where=str(path),
            expected="pip install 'ecert[pdf]', or save the scan as PNG, JPEG or TIFF",
        ) from None
    read_input(path, "PDF scan")  # the size limit
    try:
        pdf = pypdfium2.PdfDocument(str(path))
    except Exception as exc:  # pypdfium2 raises PdfiumError and others for a damaged file
        raise InputError(f"cannot read PDF ({exc})", where=str(path)) from None
    try:
        for n in range(min(len(pdf), MAX_SCAN_PAGES)):
            try:
                bitmap = pdf[n].render(scale=PDF_DPI / 72, grayscale=True)
                yield bitmap.to_pil().convert("L")
            except Exception as exc:
                raise InputError(f"cannot draw page {n + 1} of the PDF ({exc})", where=str(path)) from None
    finally:
        pdf.close()


def verify_qr_input(
    text_or_image: str,
    *,
    trust: TrustStore,
    certificates: Sequence[Certificate] = (),
    at: datetime | None = None,
    status: StatusSource | Sequence[StatusSource] | None = None,
) -> VerificationReport:
    """Verify a QR payload given as text or as a scan holding the QR code (PNG, JPEG, TIFF, PDF).

    ``certificates`` are the department certificates an offline payload's key id is looked up in
    (each must chain to ``trust``); ``status`` is one status source or several (the one speaking
    for the payload's issuer is asked).  A reference payload (identifier + file digest) carries no
    signature: its report says to verify the file it points to.  Raises :class:`InputError` for a
    scan that cannot be read and :class:`InvalidQRPayload` for one without a readable code.

    :param text_or_image: the payload's text (``EC2:…``, ``EC1:…``, ``…ECR1:…``) or a scan's path.
    :param trust: the window's trust anchors.
    :param certificates: department certificates to look the payload's key id up in.
    :param at: verification time (timezone-aware; default now).
    :param status: where to ask for the certificate's status, one source or one per department.
    :returns: the report; a signer the window lacks is "cannot be checked here" (see
        :attr:`~ecert.verify.report.VerificationReport.cannot_be_checked_here`), never valid.
    :raises InputError: for a missing or unreadable scan, or a naive ``at``.
    :raises InvalidQRPayload: for a scan without a readable QR code.
    """
    from ecert.qr.payload import REFERENCE_PREFIX, is_offline

    candidate = Path(text_or_image)
    if candidate.suffix.lower() in _IMAGE_SUFFIXES and candidate.is_file():
        text = decode_qr_image(candidate)
    elif (
        candidate.suffix.lower() in _IMAGE_SUFFIXES
        and not is_offline(text_or_image)
        and REFERENCE_PREFIX not in text_or_image
    ):
        # a mistyped image path is not a QR payload to report as invalid: say the file is missing
        raise InputError("QR image not found", where=text_or_image, expected="an image file or QR text")
    else:
        text = text_or_image
    return verify_qr_text(text, trust=trust, certificates=certificates, at=at, status=status)


def verify_qr_text(
    text: str,
    *,
    trust: TrustStore,
    certificates: Sequence[Certificate] = (),
    at: datetime | None = None,
    status: StatusSource | Sequence[StatusSource] | None = None,
) -> VerificationReport:
    """Verify the text of a QR code (never read as a path: safe for text from anyone)."""
    from ecert.qr.payload import is_offline
    from ecert.verify.qr import verify_offline

    if is_offline(text):
        if status is not None and not isinstance(status, StatusSource):
            status = status_for(list(status), _payload_issuer_code(text.strip()))
        return verify_offline(text, trust=trust, certificates=certificates, at=at, status=status)
    from datetime import UTC

    report = ReportBuilder("QR code", ("payload", "signature_value"), at or datetime.now(UTC))
    try:
        from ecert.qr.payload import parse_reference

        ref = parse_reference(text)
    except InvalidQRPayload as exc:
        report.fail("payload", f"not an e-certificate QR payload: {exc}", f"不是电子证照二维码：{exc}")
        return report.build()
    report.passed("payload", f"reference to {ref.identifier}", f"指向证照 {ref.identifier} 的引用")
    report.warn(
        "reference",
        "a reference payload carries no signature: verify the file it points to "
        "(ecert verify FILE) and compare its digest",
        "引用型二维码不含签名：请核验其指向的证照文件并比对摘要",
    )
    return report.build(identifier=ref.identifier)


def issue_record_file(
    record_path: Path,
    *,
    type_code: str | CertificateType,
    signer: Signer,
    out_dir: Path,
    at: datetime | None = None,
    serial: str | None = None,
    photo: Path | None = None,
    seal_image: Path | None = None,
    catalog: Catalog | None = None,
) -> Path:
    """collect → identifier → package → sign, writing ``<identifier>.ofd`` into ``out_dir``.

    ``type_code`` is a type or its code, looked up in ``catalog`` (default: the shipped types).
    Raises :class:`~ecert.errors.CollectionError` listing every problem of the record and
    :class:`~ecert.errors.InputError` for a file that cannot be read.
    """
    from ecert.collect import collect
    from ecert.package import Issuer, file_name, package, signer_authority

    record = _read_record(record_path)
    draft = collect(
        record,
        type_code,
        issuer=signer_authority(signer),
        serial=serial,
        today=at.date() if at else None,
        catalog=catalog,
    )
    issuer = Issuer(
        signer=signer,
        seal_image=read_input(seal_image, "seal image") if seal_image else None,
    )
    data = package(draft, issuer, at=at, photo=read_input(photo, "photo") if photo else None)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / file_name(draft.metadata)
    target.write_bytes(data)
    return target


def replace_record_file(
    record_path: Path,
    *,
    type_code: str | CertificateType,
    signer: Signer,
    registry: Path | str,
    out_dir: Path,
    identifier: str | None = None,
    reason: str = "replaced",
    at: datetime | None = None,
    catalog: Catalog | None = None,
) -> tuple[Path, str]:
    """Issue a corrected record as the next version of its holder's valid certificate of the type
    (or of ``identifier``), which the registry then shows as REPLACED; returns (new file, old identifier).

    Raises :class:`~ecert.errors.CollectionError` for a record with problems, and
    :class:`~ecert.errors.InputError` when there is no valid certificate to replace, several
    (give ``identifier``), or ``identifier`` is another holder's or type's.
    """
    from ecert.batch import next_version, valid_certificates_of
    from ecert.collect import collect
    from ecert.package import Issuer, file_name, package, signer_authority
    from ecert.registry import open_registry
    from ecert.registry.status import CertStatus

    record = _read_record(record_path)
    when = at or datetime.now().astimezone().replace(microsecond=0)
    draft = collect(
        record, type_code, issuer=signer_authority(signer), serial="0", today=when.date(), catalog=catalog
    )
    md = draft.metadata
    if isinstance(registry, Path) and not registry.is_file():
        raise InputError("registry not found", where=str(registry))
    with open_registry(registry, create=False) as reg:
        if identifier is None:
            held = valid_certificates_of(reg, md.holder_code, md.type_code)
            if len(held) != 1:
                raise InputError(
                    f"{md.holder_code} holds {len(held)} valid {md.certificate_name}",
                    where=str(registry),
                    expected="exactly one to replace (give --identifier ID when there are several)",
                )
            old = held[0]
        else:
            old = reg.get(identifier)
            if old.metadata.holder_code != md.holder_code or old.metadata.type_code != md.type_code:
                raise InputError(
                    "the record is not of this certificate's holder and type",
                    where=identifier,
                    value=f"{md.holder_code} / {md.type_code}",
                    expected=f"{old.metadata.holder_code} / {old.metadata.type_code}",
                )
            if old.status != CertStatus.VALID:
                raise InputError(
                    f"only a valid certificate is replaced; this one is {old.status.value}", where=identifier
                )
        new = next_version(draft, old)
        data = package(new, Issuer(signer), at=when)
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / file_name(new.metadata)
        target.write_bytes(data)
        try:
            reg.renew(
                old.identifier,
                new.metadata,
                package_digest=sm3(data).hex(),
                signer=signer.certificate.subject,
                issued_at=when,
                file_path=str(target),
                reason=reason,
            )
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    return target, old.identifier


def _read_record(record_path: Path) -> Any:
    import json

    raw = read_input(record_path, "record")
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"record is not JSON ({exc})", where=str(record_path)) from None


def inspect_file(path: Path) -> dict[str, Any]:
    """What a file says about itself — NOT verified.  A broken part (a missing SignedValue, a
    Provider without ProviderName) is named under ``problems`` while the rest is still shown."""
    from ecert.ofd.reader import OFDPackage
    from ecert.ofd.signatures import describe_signatures

    data = read_input(path, "certificate file")
    try:
        package = OFDPackage.open(data)
    except InputError as exc:
        raise InputError(f"not a readable OFD file ({exc})", where=str(path)) from None
    problems: list[str] = []
    try:
        custom_datas = dict(package.doc_bodies()[0].doc_info.custom_datas)
    except InputError as exc:  # show what else can be read, and name the problem
        custom_datas = {}
        problems.append(f"OFD.xml: {exc}")
    signatures = []
    for description, problem in describe_signatures(package, 0):
        signatures.append(description if problem is None else f"{description}: unreadable ({problem})")
        if problem is not None:
            problems.append(f"{description}: {problem}")
    info: dict[str, Any] = {
        "file": str(path),
        "sm3": sm3(data).hex(),
        "note": "what the file says about itself, not checked (ecert verify checks it)",
        "entries": list(package.names()),
        "custom_datas": custom_datas,
        "signatures": signatures,
    }
    if problems:
        info["problems"] = problems
    return info


def _not_a_certificate_file(exc: InputError, path: Path) -> InputError:
    """The reader's error about a package (``at package``), naming the file the user gave."""
    return InputError(f"not a readable certificate file ({exc})", where=str(path))


def _read_certificate_file(path: Path) -> tuple[bytes, Any, tuple[Any, ...]]:
    """A certificate file's bytes, metadata and data items (NOT verified); errors name the file."""
    data = read_input(path, "certificate file")
    try:
        metadata, items = read_certificate_parts(data)
    except InputError as exc:
        raise _not_a_certificate_file(exc, path) from None
    return data, metadata, items


def read_certificate_parts(data: bytes) -> tuple[Any, tuple[Any, ...]]:
    """Metadata and data items of a certificate file, read WITHOUT verification (for drawing)."""
    from ecert.metadata.document import parse_certificate_xml
    from ecert.ofd.reader import OFDPackage
    from ecert.verify.content import ATTACHMENT_NAME

    package = OFDPackage.open(data)
    attachment = next((a for a in package.document(0).attachments if a.name == ATTACHMENT_NAME), None)
    if attachment is None:
        raise InputError("not an ecert certificate file: no metadata attachment")
    return parse_certificate_xml(package.entries[attachment.file_loc])


def make_qr_payload(path: Path, *, kind: str, signer: Signer | None = None, url_prefix: str = "") -> str:
    """The QR payload for a certificate file: ``reference`` (identifier + SM3 of the file) or
    ``offline`` (the metadata signed again by ``signer``)."""
    from ecert.crypto.digests import sm3
    from ecert.qr.offline import assert_fits, make_offline
    from ecert.qr.payload import reference_payload

    data, metadata, _items = _read_certificate_file(path)
    if kind == "reference":
        return str(reference_payload(url_prefix, str(metadata.identifier), sm3(data)))
    if signer is None:
        raise InputError("offline payloads are signed: give the issuer's key and certificate")
    payload = make_offline(metadata, signer)
    assert_fits(payload)
    return payload


def write_qr_png(payload: str, out: Path, *, module_px: int = 8) -> None:
    """Write the QR symbol of ``payload`` as a PNG (``module_px`` pixels per module; folders made).

    Raises :class:`~ecert.errors.InvalidQRPayload` for a payload no QR code can hold.
    """
    from ecert.qr.image import qr_png

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(qr_png(payload, module_px=module_px))
