"""The service window's page in a real browser: `ecert window` started as a server, headless Chromium
(Debian's, through Selenium) uploading what a clerk is handed and reading what the page shows.

Screenshots of each state are written to a temporary folder (its path is printed; set
ECERT_WINDOW_SCREENSHOTS=DIR to keep them elsewhere).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser import VIEWPORT, chromium, ecert_server, require_browser
from .window_cases import COPY_REASON, REVOKE_REASON, WindowCases, shared_cases

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> WindowCases:
    require_browser()
    return shared_cases(tmp_path_factory)


@pytest.fixture(scope="module")
def base_url(cases: WindowCases) -> Iterator[str]:
    args = [
        "window",
        "--trust",
        str(cases.trust),
        "--status",
        str(cases.status_list),
        "--max-upload-mb",
        "16",
    ]
    with ecert_server(args, "api/window/limits") as url:
        yield url


@pytest.fixture(scope="module")
def driver(base_url: str) -> Iterator[Any]:
    with chromium() as d:
        yield d


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("ECERT_WINDOW_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("window-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"window page screenshots: {folder}")
    return folder


class Page:
    """The page as the clerk sees it."""

    def __init__(self, driver: Any, base_url: str) -> None:
        self.d = driver
        self.base = base_url

    def open(self) -> Page:
        self.d.get(self.base)
        self._wait_state({"idle"})
        return self

    def _by(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.d.find_element(By.CSS_SELECTOR, css)

    def _wait_state(self, states: set[str]) -> str:
        from selenium.webdriver.support.ui import WebDriverWait

        state: str = WebDriverWait(self.d, 30).until(
            lambda d: (s := d.execute_script("return document.body.dataset.state")) in states and s
        )
        return state

    def _submit(self, action: Any) -> str:
        self.d.execute_script("document.body.dataset.state = 'sent'")
        action()
        return self._wait_state({"result", "error"})

    def upload(self, path: Path, picker: str = "#file") -> str:
        return self._submit(lambda: self._by(picker).send_keys(str(path)))

    def type_payload(self, text: str) -> str:
        def act() -> None:
            box = self._by("#payload")
            box.clear()
            self.d.execute_script("arguments[0].value = arguments[1]", box, text)  # a scanner's speed
            self._by("#verify-text").click()

        return self._submit(act)

    def paste_text(self, text: str) -> str:
        script = """const dt = new DataTransfer(); dt.setData('text/plain', arguments[0]);
            document.body.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true}));"""
        return self._submit(lambda: self.d.execute_script(script, text))

    def paste_image(self, png: bytes) -> str:
        script = """const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], 'screenshot.png', {type: 'image/png'}));
            document.body.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true}));"""
        return self._submit(lambda: self.d.execute_script(script, base64.b64encode(png).decode()))

    @property
    def verdict(self) -> str:
        return str(self._by("#verdict-label").text)

    @property
    def detail(self) -> str:
        return str(self._by("#verdict-detail").text)

    @property
    def error(self) -> str:
        return str(self._by("#error").text)

    @property
    def text(self) -> str:
        return str(self._by("body").text)

    def field(self, label: str) -> str:
        from selenium.webdriver.common.by import By

        for row in self.d.find_elements(By.CSS_SELECTOR, "#fields tr"):
            if row.find_element(By.TAG_NAME, "th").text == label:
                return str(row.find_element(By.TAG_NAME, "td").text)
        raise AssertionError(f"no field {label!r} on the page")

    def failed_checks(self) -> list[str]:
        from selenium.webdriver.common.by import By

        return [
            li.find_element(By.CLASS_NAME, "label").text
            for li in self.d.find_elements(By.CSS_SELECTOR, "li.check.fail")
        ]

    def face_shown(self) -> bool:
        return bool(
            self.d.execute_script(
                "const f = document.getElementById('face');"
                "return !f.hidden && f.complete && f.naturalWidth > 300"
                " && f.getBoundingClientRect().width > 100;"
            )
        )

    def screenshot(self, folder: Path, name: str) -> None:
        self.d.save_screenshot(str(folder / f"{name}.png"))


@pytest.fixture()
def page(driver: Any, base_url: str) -> Page:
    return Page(driver, base_url).open()


def test_valid_certificate_shows_valid_face_and_holder(page: Page, cases: WindowCases, shots: Path) -> None:
    assert page.upload(cases.valid) == "result"
    assert page.verdict == "有效"
    assert page.face_shown()
    assert cases.valid_holder in page.text and page.field("持证主体") == cases.valid_holder
    assert page.failed_checks() == []
    page.screenshot(shots, "valid")
    page._by("#face").click()  # the clerk enlarges the face to compare it
    assert (
        page.d.execute_script("return document.getElementById('face').getBoundingClientRect().height") > 600
    )
    page._by("#face").click()


def test_verdict_and_face_fit_1366x768(page: Page, cases: WindowCases) -> None:
    page.upload(cases.valid)
    geometry = page.d.execute_script(
        "const r = (id) => document.getElementById(id).getBoundingClientRect();"
        "return {verdict: r('verdict-label').bottom, face: r('face').top, fields: r('fields').top,"
        " scrollWidth: document.documentElement.scrollWidth, width: innerWidth, height: innerHeight};"
    )
    assert (geometry["width"], geometry["height"]) == VIEWPORT
    assert geometry["scrollWidth"] <= VIEWPORT[0]  # no sideways scrolling
    assert max(geometry["verdict"], geometry["face"], geometry["fields"]) < VIEWPORT[1] / 2


def test_tampered_file_is_invalid_naming_the_check(page: Page, cases: WindowCases, shots: Path) -> None:
    assert page.upload(cases.tampered) == "result"
    assert page.verdict == "无效"
    assert "文件摘要" in page.detail
    assert any("文件摘要" in label for label in page.failed_checks())
    assert not page.face_shown()
    page.screenshot(shots, "tampered")


def test_revoked_certificate(page: Page, cases: WindowCases, shots: Path) -> None:
    assert page.upload(cases.revoked) == "result"
    assert page.verdict == "已吊销"
    assert REVOKE_REASON in page.detail
    assert any("证照状态" in label for label in page.failed_checks())
    page.screenshot(shots, "revoked")


def test_expired_certificate_names_its_end(page: Page, cases: WindowCases, shots: Path) -> None:
    assert page.upload(cases.expired) == "result"
    assert page.verdict == "已过期"
    assert "2025-01-01" in page.detail
    page.screenshot(shots, "expired")


def test_annotated_copy_and_its_expiry(page: Page, cases: WindowCases, shots: Path) -> None:
    assert page.upload(cases.copy_valid) == "result"
    assert page.verdict.startswith(f"加注件（用途：{COPY_REASON}，有效期至 ")
    assert page.face_shown() and page.field("加注件用途") == COPY_REASON
    page.screenshot(shots, "copy")
    assert page.upload(cases.copy_expired) == "result"
    assert page.verdict == "已过期"
    assert cases.copy_expired_until in page.detail and "加注件" in page.detail
    assert any("加注件有效期" in label for label in page.failed_checks())
    page.screenshot(shots, "copy-expired")


def test_qr_image_gives_the_file_verdict(page: Page, cases: WindowCases, shots: Path) -> None:
    for picture, file in ((cases.qr_valid, cases.valid), (cases.qr_revoked, cases.revoked)):
        page.upload(file)
        expected = (page.verdict, page.field("证照标识"))
        assert page.upload(picture, "#image") == "result"
        assert (page.verdict, page.field("证照标识")) == expected
        assert page.d.execute_script("return document.getElementById('source').textContent") == "二维码"
        assert page.upload(picture) == "result" and page.verdict == expected[0]  # dropped in the file zone
        assert page.paste_image(picture.read_bytes()) == "result" and page.verdict == expected[0]
    page.upload(cases.qr_valid, "#image")
    page.screenshot(shots, "qr")


def test_payload_typed_or_pasted_and_altered(page: Page, cases: WindowCases, shots: Path) -> None:
    assert page.type_payload(cases.payload_valid) == "result" and page.verdict == "有效"
    text = cases.payload_valid
    i = len(text) // 2
    altered = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]
    assert page.paste_text(altered) == "result"
    assert page.verdict == "无效" and page.failed_checks()
    page.screenshot(shots, "altered-payload")


def test_hostile_uploads_leave_the_page_usable(page: Page, cases: WindowCases, shots: Path) -> None:
    assert page.upload(cases.huge) == "error"
    assert "文件过大" in page.error
    page.screenshot(shots, "too-large")
    assert page.upload(cases.not_an_image, "#image") == "error"
    assert "图片无法读取" in page.error
    assert page.upload(cases.zip_bomb) == "result"
    assert page.verdict == "无效" and any("文件结构" in label for label in page.failed_checks())
    assert page.upload(cases.valid) == "result" and page.verdict == "有效"  # still usable, no reload


def test_print_view_is_a_one_page_slip(page: Page, cases: WindowCases, shots: Path) -> None:
    page.upload(cases.revoked)
    pdf = base64.b64decode(page.d.print_page())
    (shots / "slip.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    pymupdf = pytest.importorskip("pymupdf")
    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        assert doc.page_count == 1
        text = doc[0].get_text()
    for shown in ("电子证照核验单", "已吊销", REVOKE_REASON, "核验时间", "证照状态", page.field("持证主体")):
        assert shown in text
    assert "拖入证照文件" not in text and "打印核验单" not in text  # no inputs, no buttons on the slip


def test_nothing_is_fetched_from_elsewhere(page: Page, cases: WindowCases) -> None:
    page.upload(cases.valid)
    loaded = page.d.execute_async_script(
        "const done = arguments[0];"
        "document.fonts.load('16px ecert-cjk', '证照')"
        ".then(f => done(f.map(x => x.status)), e => done(String(e)));"
    )
    assert loaded == ["loaded"]  # ecert's own CJK font, for a PC without one, parsed by the browser
    urls = page.d.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert urls, "the page loaded no resources at all?"
    assert all(u.startswith(page.base) or u.startswith("data:") for u in urls), urls
