"""/docs as a person sees it: Debian's headless Chromium (driven through chromedriver by
Selenium) opens the platform host's reference page through Envoy, and Swagger UI lists every
storefront operation of the generated document. `.ci/run` installs chromium and
chromium-driver."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.api_client import PLATFORM_HOST

STOREFRONT = Path(__file__).resolve().parents[2] / "gen" / "openapi" / "storefront.json"


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise AssertionError(f"none of {names} is installed (.ci/run installs them with apt-get)")


@pytest.fixture(scope="module")
def browser(stack):
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium", "chromium-browser")
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,2000",
        # The platform host resolves to this test's Envoy; nothing else is reachable.
        f"--host-resolver-rules=MAP {PLATFORM_HOST} 127.0.0.1, EXCLUDE localhost",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(
        options=options, service=Service(executable_path=_binary("chromedriver"))
    )
    try:
        yield driver
    finally:
        driver.quit()


def test_docs_page_lists_the_storefront_operations(stack, browser):
    port = urlsplit(stack.edge_url).port
    browser.get(f"http://{PLATFORM_HOST}:{port}/docs")
    wait = WebDriverWait(browser, 30)
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    shown = {
        (
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text.lower(),
            block.find_element(By.CSS_SELECTOR, ".opblock-summary-path").get_attribute("data-path"),
        )
        for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")
    }
    document = json.loads(STOREFRONT.read_text())
    expected = {(verb, path) for path, item in document["paths"].items() for verb in item}
    assert shown == expected
    assert browser.find_element(By.CSS_SELECTOR, ".info .title").text.startswith("Storefront API")
