"""The web page in a real browser: Debian's headless Chromium driven by Selenium.

The server runs in a thread on 127.0.0.1 (a free port). These tests skip when
Chromium or its driver is missing, except where ``HEELNET_BROWSER_TESTS`` is set
(``.ci/run`` sets it after installing them): there they fail instead, so CI runs
them for real. Screenshots go to ``test-artifacts/`` (kept out of git).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from model.web import make_server

REQUIRED = "HEELNET_BROWSER_TESTS"
ARTIFACTS = Path(os.environ.get("HEELNET_ARTIFACTS",
                                Path(__file__).resolve().parents[2] / "test-artifacts"))
#: The machine has no internet: without the background-networking flags Chromium's own
#: connections fail and slow it down.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")
RUPTURE = {"pop_or_snap": "yes", "palpable_gap": "yes", "weak_push_off": "yes",
           "sudden_onset": "yes"}


def _missing(reason: str) -> None:
    if os.environ.get(REQUIRED):
        pytest.fail(f"{reason}, but {REQUIRED} is set: the browser tests must run here "
                    "(.ci/run installs Debian's chromium and chromium-driver)")
    pytest.skip(f"{reason} (apt-get install chromium chromium-driver to run the browser tests)")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        _missing("headless Chromium or chromedriver is not installed")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    session.set_window_size(1280, 1000)
    yield session
    session.quit()


@pytest.fixture(scope="module")
def site(model):
    server = make_server(model, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def wait(browser, condition, timeout: float = 10):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(condition)


def css(browser, selector: str):
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, selector)


def leader_and_triage(browser) -> tuple[str, str]:
    """The first ranked condition and the triage as the page shows them now."""
    return tuple(browser.execute_script(
        "const c = document.querySelector('[data-condition]');"
        "const t = document.querySelector('[data-triage]');"
        "return [c ? c.dataset.condition : '', t ? t.dataset.triage : ''];"))


def settled(browser) -> bool:
    """True when the results panel shows the latest answers (the form is not busy)."""
    return browser.execute_script(
        "return !document.getElementById('answers').hasAttribute('aria-busy');")


def shoot(browser, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / name))


def test_ticking_the_rupture_story_updates_the_results(browser, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(f"{site}/")
    assert leader_and_triage(browser)[1] == "self_care"
    browser.find_element(By.NAME, "age_years").send_keys("35")
    Select(browser.find_element(By.NAME, "sex")).select_by_value("male")
    for item, value in RUPTURE.items():
        Select(browser.find_element(By.NAME, item)).select_by_value(value)
    wait(browser, lambda b: settled(b)
         and leader_and_triage(b) == ("achilles_rupture", "emergency"))
    probabilities = [float(e.get_attribute("data-probability"))
                     for e in css(browser, "[data-condition]")]
    assert probabilities == sorted(probabilities, reverse=True) and probabilities[0] > 0.9
    flags = css(browser, "[data-red-flags] li")
    assert flags and any("rupture" in f.text for f in flags)
    assert "raised the odds" in css(browser, "[data-explanation]")[0].text
    assert "not a medical device" in css(browser, "[data-disclaimer]")[0].text
    shoot(browser, "tick_rupture.png")


def test_a_bad_value_gets_a_clear_message_not_a_crash(browser, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(f"{site}/")
    age = browser.find_element(By.NAME, "age_years")
    age.send_keys("250")
    Select(browser.find_element(By.NAME, "palpable_gap")).select_by_value("yes")
    # the panel refreshes as each answer changes: wait for the one with both answers
    wait(browser, lambda b: settled(b) and css(b, "[data-errors][role=alert]"))
    assert leader_and_triage(browser)[1] == "emergency"  # the rest is still scored
    alert = css(browser, "[data-errors][role=alert]")[0]
    assert "'age_years' must be a whole number from 0 to 120; got '250'" in alert.text
    assert age.get_attribute("aria-invalid") == "true"
    shoot(browser, "bad_value.png")
    age.clear()
    age.send_keys("35")
    wait(browser, lambda b: settled(b) and not css(b, "[data-errors]"))
    assert age.get_attribute("aria-invalid") is None


def test_the_interview_by_keyboard_alone(browser, site):
    """Autofocus puts the caret on the answer; Tab and Enter do the rest."""
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{site}/interview")
    browser.switch_to.active_element.send_keys("35", Keys.ENTER)
    wait(browser, lambda b: css(b, "[data-question=sex]"))
    browser.switch_to.active_element.send_keys(Keys.TAB, Keys.ENTER)  # female, then male
    wait(browser, lambda b: css(b, "[data-answer=sex]"))
    assert "male" in css(browser, "[data-answer=sex]")[0].text
    for _ in range(40):
        if css(browser, "[data-done=true]"):
            break
        item = css(browser, "[data-question]")[0].get_attribute("data-question")
        # the buttons: Yes (focused), No, Don't know
        keys = [Keys.ENTER] if RUPTURE.get(item) == "yes" else [Keys.TAB, Keys.TAB, Keys.ENTER]
        browser.switch_to.active_element.send_keys(*keys)
        wait(browser, lambda b, item=item: css(b, f"[data-answer={item}]"))
    assert css(browser, "[data-done=true]")
    assert leader_and_triage(browser) == ("achilles_rupture", "emergency")
    shoot(browser, "interview_done.png")


@pytest.mark.parametrize("path", ["/", "/interview"])
def test_usable_at_phone_width(browser, site, path):
    browser.set_window_size(390, 844)
    try:
        browser.get(f"{site}{path}")
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth;")
        assert overflow <= 1
        shoot(browser, f"phone_{path.strip('/') or 'index'}.png")
    finally:
        browser.set_window_size(1280, 1000)
