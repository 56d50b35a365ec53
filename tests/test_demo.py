"""`vton demo` in a real browser: the Debian chromium driven by Playwright (never `playwright install`), the app
started as a user starts it, on a free local port, with tiny models. Skipped, with the reason, where the demo
stack is not installed (`make demo`; CI installs it)."""

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vtonlib import imaging

SHARED_PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "photos"
RESOLVER = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_models(trained, tmp_path_factory):
    from vtonlib.checkpoint import save_model
    from vtonlib.lora import LoraSpec, add_lora, save_lora
    from vtonlib.tryon import TryOnPipeline
    from vtonlib.warp.model import AFWM, WarpConfig

    folder = tmp_path_factory.mktemp("demo-models")
    config = WarpConfig.tiny()
    save_model(folder / "warp.safetensors", AFWM(config).state_dict(), config.to_dict())
    unet = TryOnPipeline.from_pretrained(trained[0]).model.unet
    spec = LoraSpec(rank=4, alpha=4.0, targets="all")
    add_lora(unet, spec)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in unet.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    save_lora(folder / "hands.safetensors", unet, spec)
    return {"model": trained[0], "warp": folder / "warp.safetensors", "lora": folder / "hands.safetensors"}


@pytest.fixture(scope="module")
def server(demo_models, tmp_path_factory):
    pytest.importorskip("gradio", reason="the demo stack is not installed (`make demo`)")
    port, temp = _free_port(), tmp_path_factory.mktemp("gradio")
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", GRADIO_TEMP_DIR=str(temp),
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    log = open(temp / "server.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "vtonlib.cli", "demo", "--model", str(demo_models["model"]),
                                "--warp", str(demo_models["warp"]), "--lora", str(demo_models["lora"]),
                                "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the demo exited: {(temp / 'server.log').read_text()[-2000:]}")
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the demo did not serve its page within 90 s")
    yield url
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the demo did not stop within 15 s of SIGTERM")
    log.close()


@pytest.fixture
def page(server):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (`make demo`)")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no system chromium (Debian: apt install chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=[RESOLVER])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        outside = []
        page.route("**/*", lambda route: (route.continue_() if route.request.url.startswith(server)
                                           else (outside.append(route.request.url), route.abort())))
        page.goto(server)
        page.outside = outside
        yield page
        browser.close()


def _image(page, element_id: str) -> np.ndarray:
    """The picture an output component shows, fetched as the browser fetched it."""
    src = page.locator(f"#{element_id} img").first.get_attribute("src")
    data = page.request.get(src if src.startswith("http") else page.url.rstrip("/") + "/" + src.lstrip("/")).body()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _upload(page, element_id: str, path) -> None:
    page.locator(f"#{element_id} input[type=file]").set_input_files(str(path))
    page.locator(f"#{element_id} img").first.wait_for(timeout=15000)


def _hand_squares(photo_path) -> np.ndarray:
    """Where the correction may change pixels: squares around the photo's hands (as prepared), generously."""
    from vtonlib.hands.shapes import draw_hand
    from vtonlib.prepare.batch import prepare_person
    from vtonlib.prepare.landmarks import Estimator
    from vtonlib.prepare.photo import unfit

    with Estimator() as estimator:
        prepared = prepare_person(photo_path, estimator)
    allowed = np.zeros(prepared["image"].shape[:2], bool)
    for side in ("left", "right"):
        drawn = draw_hand(prepared["keypoints"].hand(side), allowed.shape)
        if drawn is not None:
            x0, y0, x1, y1 = drawn[1]
            pad = max(x1 - x0, y1 - y0)
            allowed[max(y0 - pad, 0): y1 + pad, max(x0 - pad, 0): x1 + pad] = True
    return unfit(allowed.astype(np.uint8) * 255, prepared["frame"]) > 0


def test_the_page_tries_on_and_corrects_only_the_hands(page, tmp_path):
    person, garment = SHARED_PHOTOS / "person_00034_00.jpg", SHARED_PHOTOS / "garment_09163_00.jpg"
    if not person.exists():
        pytest.skip(f"the demo photos are not at {SHARED_PHOTOS}")
    _upload(page, "person", person)
    _upload(page, "garment", garment)
    box = page.locator("#lora_scale input[type=number]")
    box.fill("1.2")
    box.press("Enter")
    page.locator("#try").click()
    page.wait_for_function("() => document.querySelector('#corrected img') && document.querySelector('#corrected img')"
                           ".naturalWidth > 0 && document.querySelector('#tryon img').naturalWidth > 0",
                           timeout=120000)
    page.screenshot(path=str(tmp_path / "demo.png"), full_page=True)
    base, fixed = _image(page, "tryon"), _image(page, "corrected")
    photo = imaging.read_image(person)
    assert base.shape == photo.shape and fixed.shape == photo.shape
    changed = np.abs(base.astype(int) - fixed.astype(int)).max(-1) > 0
    assert changed.any(), "the hand correction changed nothing"
    assert not (changed & ~_hand_squares(person)).any(), "pixels changed outside the hands"
    assert "Done." in page.locator("#status").inner_text()
    assert not page.outside, f"the page asked for {page.outside[:3]}"


def test_a_photo_without_a_person_is_a_message_in_the_page(page, tmp_path):
    empty = tmp_path / "wall.png"
    imaging.write_image(empty, np.full((400, 300, 3), 180, np.uint8))
    garment = SHARED_PHOTOS / "garment_09163_00.jpg"
    if not garment.exists():
        pytest.skip(f"the demo photos are not at {SHARED_PHOTOS}")
    _upload(page, "person", empty)
    _upload(page, "garment", garment)
    page.locator("#try").click()
    page.wait_for_function("() => document.querySelector('#status').innerText.includes('Could not')", timeout=60000)
    assert "no person found" in page.locator("#status").inner_text()


def test_unreadable_input_is_a_message_not_a_traceback(demo_models, tmp_path):
    from vtonlib.demo import message, run_request
    from vtonlib.fileio import DataError

    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"this is not a JPEG")
    with pytest.raises(DataError) as info:
        run_request(demo_models, bad, SHARED_PHOTOS / "garment_09163_00.jpg", work=tmp_path)
    assert "photo.jpg" in message(info.value) and "not an image" in message(info.value)


def test_without_models_the_page_says_what_to_run(tmp_path, monkeypatch):
    pytest.importorskip("gradio", reason="the demo stack is not installed (`make demo`)")
    from vtonlib import demo
    from vtonlib.prepare import whole

    monkeypatch.setattr(whole, "RUNS", tmp_path / "no-runs")
    monkeypatch.setattr(whole.latest_run_models, "__defaults__", (tmp_path / "no-runs",))
    app = demo.build_app()
    texts = [getattr(block, "value", "") for block in app.blocks.values()]
    assert any("make run" in str(t) for t in texts)
