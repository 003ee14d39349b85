"""The window's verifier and ASGI app without a browser: verdicts, envelopes, limits, the registry.

The app runs in-process (Starlette's TestClient over httpx); tests/test_window_page.py drives the
same app through a real server and browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient  # the server extra is part of the test extra

from ecert.web.verifier import WindowSettings
from ecert.web.window import create_window_app

from .window_cases import COPY_REASON, REVOKE_REASON, WindowCases, shared_cases


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> WindowCases:
    return shared_cases(tmp_path_factory)


@pytest.fixture(scope="module")
def client(cases: WindowCases) -> Iterator[TestClient]:
    settings = WindowSettings.from_paths(cases.trust, status=[cases.status_list], max_upload=8 * 1024 * 1024)
    with TestClient(create_window_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def registry_client(cases: WindowCases) -> Iterator[TestClient]:
    settings = WindowSettings.from_paths(cases.trust, registry=cases.registry)
    with TestClient(create_window_app(settings), raise_server_exceptions=False) as c:
        yield c


def _result(client: TestClient, endpoint: str, body: bytes) -> dict:  # type: ignore[type-arg]
    response = client.post(f"/api/window/{endpoint}", content=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["ok"] and answer["found"]
    return answer["result"]  # type: ignore[no-any-return]


def _error(client: TestClient, endpoint: str, body: bytes, status: int, code: str) -> str:
    response = client.post(f"/api/window/{endpoint}", content=body)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["ok"] is False and answer["error"]["code"] == code
    assert "Traceback" not in response.text
    return answer["error"]["message"]  # type: ignore[no-any-return]


def test_valid_file(client: TestClient, cases: WindowCases) -> None:
    r = _result(client, "upload", cases.valid.read_bytes())
    assert r["verdict"]["kind"] == "valid" and r["verdict"]["label"] == "有效"
    assert r["face"].startswith("data:image/png;base64,")
    assert {"label": "持证主体", "value": cases.valid_holder} in r["fields"]
    assert any(c["name"] == "status" and c["outcome"] == "pass" for c in r["checks"])  # the list answered


def test_tampered_file_names_the_failing_check(client: TestClient, cases: WindowCases) -> None:
    r = _result(client, "upload", cases.tampered.read_bytes())
    assert r["verdict"]["label"] == "无效"
    assert "文件摘要" in r["verdict"]["failing"]
    assert r["face"] is None and r["face_note"]  # no face for a file that failed


def test_revoked_by_status_list_and_by_registry(
    client: TestClient, registry_client: TestClient, cases: WindowCases
) -> None:
    for c in (client, registry_client):
        r = _result(c, "upload", cases.revoked.read_bytes())
        assert r["verdict"]["kind"] == "revoked" and r["verdict"]["label"] == "已吊销"
        assert REVOKE_REASON in r["verdict"]["detail"]
        assert r["verdict"]["failing"] == ["证照状态"]
    assert _result(registry_client, "upload", cases.valid.read_bytes())["verdict"]["label"] == "有效"


def test_expired_names_its_end_date(client: TestClient, cases: WindowCases) -> None:
    r = _result(client, "upload", cases.expired.read_bytes())
    assert r["verdict"]["kind"] == "expired" and r["verdict"]["label"] == "已过期"
    assert "2025-01-01" in r["verdict"]["detail"]


def test_annotated_copies(client: TestClient, cases: WindowCases) -> None:
    r = _result(client, "upload", cases.copy_valid.read_bytes())
    assert r["verdict"]["kind"] == "copy"
    assert r["verdict"]["label"].startswith(f"加注件（用途：{COPY_REASON}，有效期至 ")
    assert {"label": "加注件用途", "value": COPY_REASON} in r["fields"]
    assert {"label": "持证主体", "value": cases.valid_holder} in r["fields"]  # the original's holder
    assert r["face"] is not None
    r = _result(client, "upload", cases.copy_expired.read_bytes())
    assert (r["verdict"]["kind"], r["verdict"]["label"]) == ("expired", "已过期")
    assert cases.copy_expired_until in r["verdict"]["detail"] and "加注件" in r["verdict"]["detail"]
    assert r["verdict"]["failing"] == ["加注件有效期"]
    r = _result(client, "upload", cases.copy_of_revoked.read_bytes())
    assert r["verdict"]["label"] == "已吊销" and "原件" in r["verdict"]["detail"]


def test_qr_picture_and_text_give_the_file_verdict(client: TestClient, cases: WindowCases) -> None:
    for picture, file in ((cases.qr_valid, cases.valid), (cases.qr_revoked, cases.revoked)):
        from_file = _result(client, "upload", file.read_bytes())
        for endpoint in ("image", "upload", "frame"):
            from_qr = _result(client, endpoint, picture.read_bytes())
            assert from_qr["verdict"]["label"] == from_file["verdict"]["label"]
            assert from_qr["identifier"] == from_file["identifier"]
    assert _result(client, "text", cases.payload_valid.encode())["verdict"]["label"] == "有效"


def test_altered_payload_is_invalid(client: TestClient, cases: WindowCases) -> None:
    text = cases.payload_valid
    i = len(text) // 2
    altered = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]
    r = _result(client, "text", altered.encode())
    assert r["verdict"]["label"] == "无效" and r["verdict"]["failing"]


def test_reference_payload_is_not_called_valid(client: TestClient, cases: WindowCases) -> None:
    from ecert.app import make_qr_payload

    reference = make_qr_payload(cases.valid, kind="reference")  # `ecert qr --kind reference`
    r = _result(client, "text", reference.encode())
    assert r["verdict"]["kind"] == "reference" and r["verdict"]["label"] == "无法仅凭二维码核验"
    assert r["face"] is None


def test_hostile_uploads_get_chinese_envelopes(client: TestClient, cases: WindowCases) -> None:
    assert "文件过大" in _error(client, "upload", cases.huge.read_bytes(), 413, "too_large")
    assert "图片无法读取" in _error(client, "image", cases.not_an_image.read_bytes(), 415, "bad_image")
    assert "无法识别的文件" in _error(
        client, "upload", cases.not_an_image.read_bytes(), 415, "unsupported_file"
    )
    assert "没有收到内容" in _error(client, "upload", b"", 400, "empty")
    _error(client, "text", b"\xff\xfe", 400, "bad_input")
    bomb = _result(client, "upload", cases.zip_bomb.read_bytes())  # read under limits: a report, not a crash
    assert bomb["verdict"]["label"] == "无效" and bomb["verdict"]["failing"] == ["文件结构"]
    # a picture without a code: "no QR" for an upload, and simply "not yet" for a camera frame
    plain = _png_without_code()
    assert "二维码" in _error(client, "image", plain, 422, "no_qr")
    answer = client.post("/api/window/frame", content=plain).json()
    assert answer == {"ok": True, "found": False}


def test_envelopes_for_unknown_paths_and_methods(client: TestClient) -> None:
    response = client.get("/nothing-here")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    response = client.get("/api/window/upload")
    assert response.status_code == 405 and response.json()["ok"] is False
    response = client.get("/static/../verifier.py")
    assert response.status_code == 404


def test_page_and_assets_come_from_ecert(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("static/window.js", "static/window.css"):
        assert client.get(f"/{asset}").status_code == 200
        assert f'"{asset}"' in page.text
    assert "http://" not in page.text and "https://" not in page.text
    from ecert.render import find_cjk_font

    font = client.get("/static/cjk-font")  # the face's font, for a window PC without a Chinese one
    assert font.status_code == 200 and font.headers["content-type"].startswith("font/")
    assert font.content == find_cjk_font().read_bytes()


def test_settings_refuse_nonsense(cases: WindowCases, tmp_path: Path) -> None:
    from ecert.errors import InputError

    with pytest.raises(InputError):
        WindowSettings.from_paths(tmp_path / "missing")
    with pytest.raises(InputError):
        WindowSettings.from_paths(cases.trust, registry=tmp_path / "missing.db")
    bad = tmp_path / "status.json"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match=r"status\.json"):
        WindowSettings.from_paths(cases.trust, status=[bad])


def _png_without_code() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (200, 120), 255).save(buf, format="PNG")
    return buf.getvalue()


def test_core_and_cli_do_not_import_the_server_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ecert, ecert.web.verifier, ecert.web.verdict\n"
        "from ecert.cli import build_parser\n"
        "build_parser()\n"
        "assert not {'fastapi', 'uvicorn', 'starlette'} & set(sys.modules), sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_status_lists_of_several_departments(cases: WindowCases, tmp_path: Path) -> None:
    """A window serving two departments: each certificate is answered by its own department's list."""
    import json
    import shutil
    from datetime import UTC, datetime, timedelta

    from ecert.collect import collect
    from ecert.crypto.hierarchy import DemoHierarchy
    from ecert.crypto.signer import Signer
    from ecert.errors import InputError
    from ecert.metadata import Authority
    from ecert.package import Issuer, package
    from ecert.registry import SQLiteRegistry

    from .certs import OTHER_DEPARTMENT_CODE, ROOT

    now = datetime.now(UTC).replace(microsecond=0)
    other = DemoHierarchy.create(
        "sm2",
        department="另一市市场监督管理局",
        department_code=OTHER_DEPARTMENT_CODE,
        now=now - timedelta(days=1),
    )
    signer = Signer(other.issuer_key, other.issuer_cert, (other.root_cert,))
    record = json.loads(
        (ROOT / "examples" / "records" / "11100000MB0143028R001.json").read_text(encoding="utf-8")
    )
    draft = collect(
        record, "11100000MB0143028R001", issuer=Authority("另一市市场监督管理局", OTHER_DEPARTMENT_CODE)
    )
    theirs = package(draft, Issuer(signer))
    trust = tmp_path / "trust"
    shutil.copytree(cases.trust, trust)
    (trust / "other-root.cert.pem").write_bytes(other.root_cert.to_pem())
    their_list = tmp_path / "other-status.json"
    with SQLiteRegistry.open(tmp_path / "other.db") as reg:
        reg.record_issued(draft.metadata, package_digest="0" * 64, signer="t", issued_at=now)
        reg.revoke(str(draft.metadata.identifier), reason="另一市吊销", by="t", at=now)
        their_list.write_bytes(
            reg.export_status_list(signer, issued_at=now, next_update=now + timedelta(days=1))
        )

    for order in ([cases.status_list, their_list], [their_list, cases.status_list]):
        app = create_window_app(WindowSettings.from_paths(trust, status=order))
        with TestClient(app, raise_server_exceptions=False) as c:
            assert _result(c, "upload", cases.valid.read_bytes())["verdict"]["label"] == "有效"
            mine = _result(c, "upload", cases.revoked.read_bytes())["verdict"]
            assert mine["label"] == "已吊销" and REVOKE_REASON in mine["detail"]
            them = _result(c, "upload", theirs)["verdict"]
            assert them["label"] == "已吊销" and "另一市吊销" in them["detail"]
            qr = _result(c, "image", cases.qr_revoked.read_bytes())["verdict"]
            assert qr["label"] == "已吊销"
    # only the other department's list: the demo department's certificates cannot be checked here
    app = create_window_app(WindowSettings.from_paths(trust, status=[their_list]))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = _result(c, "upload", cases.valid.read_bytes())
        assert r["verdict"]["label"] == "无效" and r["verdict"]["failing"] == ["证照状态"]
    with pytest.raises(InputError, match="two status lists"):
        WindowSettings.from_paths(trust, status=[their_list, their_list])


def test_cli_refusals(cases: WindowCases, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ecert.cli import main

    assert main(["window", "--trust", str(cases.trust), "--bundle", str(tmp_path / "b.zip")]) == 2
    assert "--bundle needs --bundle-signer CERT and replaces --trust" in capsys.readouterr().err
    assert main(["window", "--trust", str(tmp_path / "missing")]) == 2
    assert main(["window", "--trust", str(cases.trust), "--port", "0"]) == 2
    bad = tmp_path / "status.json"
    bad.write_text("not a list", encoding="utf-8")
    assert main(["window", "--trust", str(cases.trust), "--status", str(bad)]) == 2
    assert "status.json" in capsys.readouterr().err


def test_a_department_this_window_does_not_know(cases: WindowCases, tmp_path: Path) -> None:
    """A trust directory without the demo root: not a forgery, 无法在此核验 with what to add."""
    from ecert.crypto.hierarchy import DemoHierarchy

    trust = tmp_path / "other-trust"
    trust.mkdir()
    (trust / "root.cert.pem").write_bytes(DemoHierarchy.create("sm2", department="别处").root_cert.to_pem())
    with TestClient(create_window_app(WindowSettings.from_paths(trust)), raise_server_exceptions=False) as c:
        r = _result(c, "upload", cases.valid.read_bytes())
    assert (r["verdict"]["kind"], r["verdict"]["label"]) == ("unchecked", "无法在此核验")
    assert r["verdict"]["detail"] and r["face"] is None


def test_a_postgresql_library_answers_for_status(cases: WindowCases, pg_url: str) -> None:
    """``ecert window --registry postgresql://…``: the window asks a library on a database server."""
    from datetime import UTC, datetime

    import ecert
    from ecert.crypto.digests import sm3
    from ecert.crypto.trust import TrustStore
    from ecert.registry import open_registry

    data = cases.revoked.read_bytes()
    report = ecert.verify(data, trust=TrustStore.from_directory(cases.trust))
    assert report.metadata is not None
    with open_registry(pg_url) as lib:
        now = datetime.now(UTC)
        digest = sm3(data).hex()
        lib.record_issued(report.metadata, package_digest=digest, signer="t", issued_at=now, content=data)
        lib.revoke(str(report.metadata.identifier), reason=REVOKE_REASON, by="t", at=datetime.now(UTC))
    settings = WindowSettings.from_paths(cases.trust, registry=pg_url)
    with TestClient(create_window_app(settings), raise_server_exceptions=False) as c:
        r = _result(c, "upload", data)
    assert r["verdict"]["label"] == "已吊销" and REVOKE_REASON in r["verdict"]["detail"]
