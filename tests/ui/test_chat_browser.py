"""The chat UI in a real browser (issue 14): `ragline ui` on a free loopback port over the demo corpus,
driven by headless Chromium (Debian's chromium and chromium-driver, `make ui-browser`).

One UI start, one browser session: a demo question's cited answer, its source opened on the cited
page (the image is that page of the PDF, pixel for pixel), a follow-up answered in context. Each step
leaves a screenshot in build/ui-screenshots/ (git-ignored), the test's artifacts.
"""

from __future__ import annotations

import io
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pypdfium2
import pytest
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from ragline.bootstrap import build_engine
from ragline.entrypoints.cli import DEMO_CORPUS
from tests.conftest import REPO_ROOT

SCREENSHOTS = REPO_ROOT / "build" / "ui-screenshots"
NORTHWIND = DEMO_CORPUS / "northwind-cycles-annual-report-2025.pdf"
QUESTION = "What was Northwind Cycles' net income in fiscal 2025?"  # demo/questions.txt
EVIDENCE = "Net income 33.1 27.4 +20.8%"  # demo/questions_expected.json: page 3
FOLLOW_UP = "And the year before?"
READ_AS = "read as: What was Northwind Cycles' net income in fiscal 2024?"
START_TIMEOUT_S = 120  # Streamlit's start, on a loaded machine of 2 cores
ANSWER_TIMEOUT_S = 90  # the first answer loads the model in the UI's process

ASSISTANT = '[data-testid="stChatMessageContent"][aria-label="Chat message from assistant"]'
TOGGLE = '[data-testid="stCheckbox"]'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def demo_data_dir(settings, real_embedder):
    """A fresh data folder with the demo corpus ingested (in this process: one model load fewer)."""
    engine = build_engine(settings, embedder=real_embedder)
    try:
        report = engine.ingest([DEMO_CORPUS])
    finally:
        engine.close()
    assert not report.failed
    return settings.data_dir


@pytest.fixture
def ui_url(demo_data_dir) -> Iterator[str]:
    """`ragline ui` as users start it, in its own process; the URL once Streamlit says it serves."""
    port = free_port()
    environment = {name: value for name, value in os.environ.items() if not name.startswith("RAGLINE_")}
    # PYTHONPATH: the UI's process imports the same ragline as this one (pytest's pythonpath = ["."]).
    environment |= {"RAGLINE_DATA_DIR": str(demo_data_dir), "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-c", "from ragline.entrypoints.cli import app; app()", "ui", "--port", str(port)]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO_ROOT
    )
    lines: queue.Queue[str | None] = queue.Queue()
    log: list[str] = []

    def drain() -> None:  # read to the end, so the process never blocks on a full pipe
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    try:
        while (line := lines.get(timeout=START_TIMEOUT_S)) is not None:
            log.append(line)
            if f"URL: {url}" in line:
                break
        else:
            pytest.fail(f"ragline ui exited ({process.wait()}) before serving:\n{''.join(log)}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()  # never leave a server behind; the test still fails
            raise
        while (line := lines.get(timeout=30)) is not None:  # ends once the process has closed its output
            log.append(line)
        print(f"ragline ui's output:\n{''.join(log)}")  # pytest shows it when the test failed


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail("Debian's chromium and chromium-driver are needed: make ui-browser (apt-get install)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1400,1100")
    session = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield session
    finally:
        screenshot(session, "last")  # where the test ended, passed or failed
        session.quit()


def screenshot(browser: WebDriver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def waiting(browser: WebDriver, seconds: float = 30) -> WebDriverWait:
    # Streamlit redraws the page on each rerun: an element found a moment ago may be replaced.
    return WebDriverWait(browser, seconds, ignored_exceptions=[StaleElementReferenceException])


def ask(browser: WebDriver, question: str, turn: int) -> WebElement:
    """Type `question` into the chat input; the `turn`-th answer once its sources are all drawn."""
    box = waiting(browser).until(ec.element_to_be_clickable((By.CSS_SELECTOR, "[data-testid=stChatInputTextArea]")))
    box.send_keys(question + Keys.ENTER)

    def answered(driver: WebDriver) -> WebElement | bool:
        answers = driver.find_elements(By.CSS_SELECTOR, ASSISTANT)
        running = driver.find_elements(By.CSS_SELECTOR, "[data-testid=stStatusWidget]")
        if len(answers) < turn or running or not answers[turn - 1].find_elements(By.CSS_SELECTOR, TOGGLE):
            return False
        return answers[turn - 1]

    return waiting(browser, ANSWER_TIMEOUT_S).until(answered)


def sources(answer: WebElement) -> dict[int, str]:
    """The answer's numbered sources: {1: "northwind-...pdf · page 3", ...}."""
    labels = [toggle.text for toggle in answer.find_elements(By.CSS_SELECTOR, TOGGLE)]
    return {int(match[1]): match[2] for label in labels if (match := re.match(r"\[(\d+)\] (.+)", label))}


def page_size(pdf: Path, page: int) -> tuple[float, float]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return document[page - 1].get_size()
    finally:
        document.close()


def page_image(pdf: Path, page: int, width: int) -> np.ndarray:
    document = pypdfium2.PdfDocument(pdf)
    try:
        rendered = document[page - 1].render(scale=width / document[page - 1].get_size()[0]).to_pil()
        return np.asarray(rendered.convert("RGB"), dtype=np.int16)
    finally:
        document.close()


def test_a_cited_answer_its_page_and_a_follow_up_in_a_real_browser(browser, ui_url):
    browser.get(ui_url)
    sidebar = (By.CSS_SELECTOR, "[data-testid=stSidebar]")
    waiting(browser, START_TIMEOUT_S).until(ec.text_to_be_present_in_element(sidebar, "4 of 4 documents served"))
    rows = [rf"{re.escape(pdf.name)}\s+indexed\s+\d+\s+\d+" for pdf in sorted(DEMO_CORPUS.glob("*.pdf"))]
    waiting(browser).until(lambda driver: all(re.search(row, driver.find_element(*sidebar).text) for row in rows))
    screenshot(browser, "1-ingest-status")

    answer = ask(browser, QUESTION, turn=1)
    cited = re.search(rf"{re.escape(EVIDENCE)} \[(\d+)\]", answer.text)
    assert cited, answer.text  # the evidence sentence, with its citation number
    number = int(cited[1])
    assert sources(answer)[number] == f"{NORTHWIND.name} · page 3"
    screenshot(browser, "2-cited-answer")

    toggle = answer.find_elements(By.CSS_SELECTOR, TOGGLE)[number - 1]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", toggle)
    toggle.find_element(By.TAG_NAME, "label").click()
    first_answer = (By.CSS_SELECTOR, f"{ASSISTANT} [data-testid=stImage]")
    image = waiting(browser).until(ec.presence_of_element_located(first_answer))
    assert image.find_element(By.CSS_SELECTOR, "[data-testid=stImageCaption]").text == f"{NORTHWIND.name}, page 3"
    picture = image.find_element(By.TAG_NAME, "img")
    waiting(browser).until(lambda driver: driver.execute_script("return arguments[0].naturalWidth > 0", picture))
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", picture)
    screenshot(browser, "3-source-page")
    shown = Image.open(io.BytesIO(httpx.get(picture.get_attribute("src"), timeout=30).content)).convert("RGB")
    width, height = shown.size
    page_width, page_height = page_size(NORTHWIND, 3)
    assert abs(height - width * page_height / page_width) <= 1  # the page's aspect ratio
    # Every page of the demo PDF has the same size: the pixels tell page 3 from the others.
    pixels = np.asarray(shown, dtype=np.int16)
    difference = {page: np.abs(pixels - page_image(NORTHWIND, page, width)).mean() for page in range(1, 6)}
    assert min(difference, key=difference.get) == 3 and difference[3] < 1, difference

    follow_up = ask(browser, FOLLOW_UP, turn=2)
    assert READ_AS in follow_up.text
    assert f"{NORTHWIND.name} · page 3" in sources(follow_up).values()
    browser.execute_script("arguments[0].scrollIntoView({block: 'end'})", follow_up)
    screenshot(browser, "4-follow-up-in-context")
