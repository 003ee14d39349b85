"""Scanning with the camera: Chromium's fake capture device plays a video of a QR code from
`ecert qr`, the page sends frames to the server, which decodes them with ecert's QR decoder.

Its own browser session: the fake camera is a start-up flag.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser import chromium, ecert_server, require_browser
from .window_cases import WindowCases, shared_cases

pytestmark = pytest.mark.slow


def write_y4m(picture: Path, out: Path, *, size: tuple[int, int] = (800, 600), frames: int = 10) -> None:
    """A short grey-scale YUV4MPEG2 video (the format Chromium's fake camera plays) of ``picture``
    centred on white: the clerk holding a phone up to the webcam, steadily."""
    from PIL import Image

    width, height = size
    frame = Image.new("L", size, 255)
    with Image.open(picture) as img:
        code = img.convert("L")
        side = min(width, height) - 40
        code = code.resize((side, side), Image.Resampling.NEAREST)
    frame.paste(code, ((width - side) // 2, (height - side) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with out.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            f.write(b"FRAME\n" + luma + chroma + chroma)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> WindowCases:
    require_browser()
    return shared_cases(tmp_path_factory)


@pytest.fixture(scope="module")
def base_url(cases: WindowCases) -> Iterator[str]:
    with ecert_server(
        ["window", "--trust", str(cases.trust), "--status", str(cases.status_list)], "api/window/limits"
    ) as url:
        yield url


def _camera(video: Path) -> Any:
    return chromium(
        (
            "--use-fake-ui-for-media-stream",  # allow the camera without asking
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        )
    )


def test_camera_scan_gives_the_file_verdict(cases: WindowCases, base_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    video = tmp_path / "revoked-qr.y4m"
    write_y4m(cases.qr_revoked, video)
    with _camera(video) as d:
        d.get(base_url)
        d.find_element(By.ID, "camera").click()
        WebDriverWait(d, 30).until(
            lambda d: d.execute_script("return document.body.dataset.state") == "result"
        )
        assert d.find_element(By.ID, "verdict-label").text == "已吊销"
        assert d.find_element(By.ID, "source").text == "二维码"
        assert d.find_element(By.ID, "camera-status").text == "已识别二维码"
        # the camera is released once the code is read
        assert d.execute_script("return document.getElementById('video').hidden") is True
