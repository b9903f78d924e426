"""The web page in real headless Chromium (Debian's chromium and chromedriver), driven by selenium."""

import shutil
import time

import pytest

from tests.recipes.conftest import require_tools
from tests.service.conftest import Server


@pytest.fixture(scope="module")
def browser():
    require_tools("chromium", "chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--autoplay-policy=no-user-gesture-required",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def test_a_click_produces_audio_that_plays(browser, checkpoint_dir):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    server = Server(str(checkpoint_dir))
    try:
        browser.get(server.url)
        wait = WebDriverWait(browser, 60)
        wait.until(lambda d: len(Select(d.find_element(By.ID, "speaker")).options) == 4)
        assert [o.text for o in Select(browser.find_element(By.ID, "model")).options] == ["tiny"]
        Select(browser.find_element(By.ID, "speaker")).select_by_value("carol")
        seconds = browser.find_element(By.ID, "seconds")
        seconds.clear()
        seconds.send_keys("1.5")
        browser.find_element(By.ID, "synthesize").click()
        # The audio element loads the stream, knows its exact length from the header, and plays.
        wait.until(lambda d: d.execute_script("return document.getElementById('player').readyState") >= 2)
        duration = browser.execute_script("return document.getElementById('player').duration")
        assert abs(duration - 1.5) < 0.01
        wait.until(lambda d: d.execute_script("return document.getElementById('player').currentTime") > 0.2)
        assert not browser.execute_script("return document.getElementById('player').paused")
        src = browser.execute_script("return document.getElementById('player').src")
        assert "speaker=carol" in src and "seconds=1.5" in src
        link = browser.find_element(By.ID, "download")
        assert link.is_displayed() and link.get_attribute("href") == src
        # A bad request shows the server's message instead of a silent failure.
        seconds.clear()
        seconds.send_keys("500")
        browser.find_element(By.ID, "synthesize").click()
        wait.until(lambda d: "seconds" in d.find_element(By.ID, "status").text)
        assert "less than or equal" in browser.find_element(By.ID, "status").text
        time.sleep(0.1)
    finally:
        server.stop()


def test_an_upload_is_resynthesised_and_plays(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from tests.conftest import conditioned_release, write_tone

    vocoder = conditioned_release(tmp_path / "vocoder", "mel")
    tone = write_tone(tmp_path / "voice.wav", seconds=0.5)  # 8,000 samples: 200 frames of 40
    (tmp_path / "notes.txt").write_text("not audio")
    server = Server(str(vocoder))
    try:
        browser.get(server.url)
        wait = WebDriverWait(browser, 60)
        wait.until(lambda d: len(Select(d.find_element(By.ID, "speaker")).options) == 2)
        assert browser.find_element(By.ID, "upload").is_displayed()
        assert not browser.find_element(By.ID, "seconds").is_displayed()
        assert Select(browser.find_element(By.ID, "speaker")).first_selected_option.get_attribute("value") == "any"
        browser.find_element(By.ID, "upload").send_keys(str(tone))
        browser.find_element(By.ID, "synthesize").click()
        wait.until(lambda d: d.execute_script("return document.getElementById('player').readyState") >= 2)
        duration = browser.execute_script("return document.getElementById('player').duration")
        assert abs(duration - 0.5) < 0.01
        wait.until(lambda d: d.find_element(By.ID, "status").text.startswith(("Playing", "Done")))
        assert browser.find_element(By.ID, "download").is_displayed()
        # A file that is not audio gets the server's message, not a silent failure.
        browser.find_element(By.ID, "upload").send_keys(str(tmp_path / "notes.txt"))
        browser.find_element(By.ID, "synthesize").click()
        wait.until(lambda d: "body" in d.find_element(By.ID, "status").text)
        assert "not audio that soundfile can read" in browser.find_element(By.ID, "status").text
    finally:
        server.stop()


def test_typed_text_is_spoken_and_plays(browser, tmp_path):
    """A text-to-speech model (random weights): the page shows a text box; the audio is the text's length."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from tests.conftest import conditioned_release
    from wavenet.release import load_release
    from wavenet.synthesizer import text_frames

    tts = conditioned_release(tmp_path / "tts", "linguistic")
    said = "Good morning. It is 9:30."
    expected = sum(len(f) for f in text_frames(load_release(tts), said)) * 40 / 16000
    server = Server(str(tts))
    try:
        browser.get(server.url)
        wait = WebDriverWait(browser, 60)
        wait.until(lambda d: len(Select(d.find_element(By.ID, "speaker")).options) == 2)
        assert browser.find_element(By.ID, "text").is_displayed()
        assert not browser.find_element(By.ID, "seconds").is_displayed()
        assert not browser.find_element(By.ID, "upload").is_displayed()
        text = browser.find_element(By.ID, "text")
        text.clear()
        text.send_keys(said)
        browser.find_element(By.ID, "synthesize").click()
        wait.until(lambda d: d.execute_script("return document.getElementById('player').readyState") >= 2)
        duration = browser.execute_script("return document.getElementById('player').duration")
        assert abs(duration - expected) < 0.01
        assert "text=Good+morning" in browser.execute_script("return document.getElementById('player').src")
        # Nothing speakable: the server's message, not a silent failure.
        text.clear()
        text.send_keys("?!")
        browser.find_element(By.ID, "synthesize").click()
        wait.until(lambda d: "text" in d.find_element(By.ID, "status").text)
        assert "nothing speakable" in browser.find_element(By.ID, "status").text
    finally:
        server.stop()


def test_it_opens_on_text_to_speech_and_draws_a_spectrogram_while_the_audio_plays(browser, tmp_path, checkpoint_dir):
    """With a text-to-speech model among others, the page opens on it with an example sentence; one click
    plays it, and the spectrogram scrolls while (and only while) the audio plays: a screenshot shows it."""
    import io

    import numpy as np
    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from tests.conftest import conditioned_release

    tts = conditioned_release(tmp_path / "speaker", "linguistic")
    server = Server(str(checkpoint_dir), str(tts))
    try:
        browser.get(server.url)
        wait = WebDriverWait(browser, 60)
        wait.until(lambda d: len(Select(d.find_element(By.ID, "model")).options) == 2)
        assert Select(browser.find_element(By.ID, "model")).first_selected_option.text == "speaker"
        assert browser.find_element(By.ID, "text").get_attribute("value").startswith("Hello!")
        state = "return [spectrogram.columns, spectrogram.lit, document.getElementById('player').currentTime]"
        assert browser.execute_script(state)[:2] == [0, 0]  # nothing drawn before anything plays
        browser.find_element(By.ID, "synthesize").click()
        wait.until(lambda d: d.execute_script(state)[2] > 0.5)
        columns, lit, _ = browser.execute_script(state)
        assert columns > 10 and lit > columns * 20  # bright bins in every column, not a blank canvas
        canvas = browser.find_element(By.ID, "spectrogram")
        shot = Image.open(io.BytesIO(canvas.screenshot_as_png)).convert("L")
        browser.save_screenshot(str(tmp_path / "page.png"))
        pixels = np.asarray(shot, dtype=float)
        drawn = pixels[:, -columns:]  # the newest columns, at the right
        assert drawn.std() > 5 and drawn.mean() > pixels[:, : max(1, pixels.shape[1] // 10)].mean()
        wait.until(lambda d: d.execute_script("return document.getElementById('player').ended"))
        stopped = browser.execute_script(state)[0]
        time.sleep(0.5)
        assert browser.execute_script(state)[0] == stopped  # it follows the audio: no columns after it ends
    finally:
        server.stop()
