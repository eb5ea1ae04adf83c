"""Headless Chromium for the UI's browser tests (docs/adr/0029): Debian's ``chromium`` driven
through ``chromedriver`` over the W3C WebDriver protocol, with nothing but httpx — a WebDriver
client library would pull in trio, which breaks the sandboxed plugin workers' httpx import.

``hubctl stack up`` (``make up``/``make test``) installs both packages; without them the browser
tests skip with the reason.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from hub_e2e.processes import free_port

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
KEYS = {"tab": "\ue004", "enter": "\ue007", "shift": "\ue008"}


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


class WebDriverError(AssertionError):
    pass


class Element:
    def __init__(self, browser: Browser, element_id: str, selector: str) -> None:
        self.browser, self.id, self.selector = browser, element_id, selector

    def _cmd(self, method: str, path: str, body: Any = None) -> Any:
        return self.browser.cmd(method, f"/element/{self.id}{path}", body)

    def click(self) -> None:
        self._cmd("POST", "/click", {})

    def type(self, text: str) -> None:
        self._cmd("POST", "/clear", {})
        self._cmd("POST", "/value", {"text": text})

    @property
    def text(self) -> str:
        return str(self._cmd("GET", "/text"))

    def attribute(self, name: str) -> str | None:
        value = self._cmd("GET", f"/property/{name}")
        return None if value is None else str(value)


class Browser:
    """One WebDriver session; every call waits for the page's own navigation to finish."""

    def __init__(self, driver_url: str, session_id: str) -> None:
        self._http = httpx.Client(base_url=f"{driver_url}/session/{session_id}", timeout=60)

    def cmd(self, method: str, path: str, body: Any = None) -> Any:
        resp = self._http.request(method, path, json=body)
        value = resp.json().get("value")
        if resp.status_code >= 400:
            raise WebDriverError(f"{method} {path}: {value}")
        return value

    def go(self, url: str) -> None:
        self.cmd("POST", "/url", {"url": url})

    @property
    def url(self) -> str:
        return str(self.cmd("GET", "/url"))

    @property
    def source(self) -> str:
        return str(self.cmd("GET", "/source"))

    @property
    def title(self) -> str:
        return str(self.cmd("GET", "/title"))

    def find(self, selector: str, timeout_s: float = 15.0) -> Element:
        deadline = time.monotonic() + timeout_s
        while True:
            resp = self._http.post("/element", json={"using": "css selector", "value": selector})
            if resp.status_code < 400:
                return Element(self, resp.json()["value"][ELEMENT], selector)
            if time.monotonic() > deadline:
                raise WebDriverError(f"no element {selector!r} on {self.url}")
            time.sleep(0.1)

    def find_all(self, selector: str) -> list[Element]:
        found = self.cmd("POST", "/elements", {"using": "css selector", "value": selector})
        return [Element(self, f[ELEMENT], selector) for f in found]

    def fill(self, fields: dict[str, str]) -> None:
        for selector, value in fields.items():
            self.find(selector).type(value)

    def choose(self, select: str, value: str) -> None:
        self.find(f'{select} option[value="{value}"]').click()

    def press(self, *keys: str) -> None:
        actions = [
            a
            for k in keys
            for a in ({"type": "keyDown", "value": KEYS[k]}, {"type": "keyUp", "value": KEYS[k]})
        ]
        self.cmd("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})

    def script(self, source: str, *args: Any) -> Any:
        return self.cmd("POST", "/execute/sync", {"script": source, "args": list(args)})

    def wait_for(self, check: Callable[[], Any], timeout_s: float = 60.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise WebDriverError(f"{what} not met within {timeout_s}s on {self.url}")
            time.sleep(0.25)

    def size(self, width: int, height: int) -> None:
        self.cmd("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path: Path) -> None:
        """The whole page (Chromium's full-page capture through the DevTools protocol)."""
        height = int(self.script("return document.documentElement.scrollHeight") or 900)
        width = int(self.script("return window.innerWidth") or 1280)
        self.cmd("POST", "/window/rect", {"width": width, "height": min(max(height + 140, 600), 4000)})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.cmd("GET", "/screenshot")))

    def close(self) -> None:
        try:
            self._http.delete("")
        finally:
            self._http.close()


@contextmanager
def headless_chromium(width: int = 1280, height: int = 900) -> Iterator[Browser]:
    paths = chromium_paths()
    if paths is None:
        raise WebDriverError(
            "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        )
    binary, driver = paths
    port = free_port()
    proc = subprocess.Popen(
        [driver, f"--port={port}", "--allowed-ips=127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    driver_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{driver_url}/status", timeout=2).json()["value"]["ready"]:
                    break
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise WebDriverError("chromedriver did not start")
            time.sleep(0.1)
        options = {
            "binary": binary,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}", "--lang=en-US"],
        }  # fmt: skip
        created = httpx.post(
            f"{driver_url}/session",
            json={"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}},
            timeout=60,
        )
        if created.status_code >= 400:
            raise WebDriverError(f"no browser session: {created.text[:500]}")
        browser = Browser(driver_url, created.json()["value"]["sessionId"])
        try:
            yield browser
        finally:
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
