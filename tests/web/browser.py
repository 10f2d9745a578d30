"""pytest's handle on Chromium: web/tests/e2e/driver.mjs (playwright-core) spoken to over its stdin/stdout."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from stack import ROOT

WEB = ROOT / "web"
ARTIFACTS = ROOT / ".run" / "artifacts" / "web"


class BrowserError(AssertionError):
    pass


class Browser:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["node", str(WEB / "tests" / "e2e" / "driver.mjs")], cwd=WEB, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        hello = json.loads(self.process.stdout.readline() or '{"error": "the driver exited"}')
        if not hello.get("ready"):
            raise BrowserError(f"Chromium did not start: {hello}")
        self.version = hello["version"]
        self._id = 0

    def send(self, op: str, **fields: Any) -> Any:
        self._id += 1
        self.process.stdin.write(json.dumps({"id": self._id, "op": op, **fields}) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline() or '{"error": "the driver exited"}')
        if "error" in answer:
            raise BrowserError(f"{op} {fields}: {answer['error']}")
        return answer["result"]

    def page(self, name: str, **options: Any) -> Page:
        self.send("page", name=name, **options)
        return Page(self, name)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Locator:
    def __init__(self, page: Page, **where: Any) -> None:
        self.page, self.where = page, where

    def _call(self, method: str, *args: Any) -> Any:
        return self.page.browser.send("call", page=self.page.name, method=method, args=list(args), **self.where)

    def nth(self, index: int) -> Locator:
        return Locator(self.page, **self.where, nth=index)

    def click(self) -> None:
        self._call("click")

    def fill(self, text: str) -> None:
        self._call("fill", text)

    def press(self, key: str) -> None:
        self._call("press", key)

    def press_sequentially(self, text: str) -> None:
        self._call("pressSequentially", text)

    def check(self) -> None:
        self._call("check")

    def checked(self) -> bool:
        return self._call("isChecked")

    def uncheck(self) -> None:
        self._call("uncheck")

    def select(self, value: str) -> None:
        self._call("selectOption", value)

    def text(self) -> str:
        return self._call("innerText")

    def count(self) -> int:
        return self._call("count")

    def value(self) -> str:
        return self._call("inputValue")

    def attribute(self, name: str) -> str | None:
        return self._call("getAttribute", name)

    def wait(self, state: str = "visible", timeout: int = 15_000) -> None:
        self._call("waitFor", {"state": state, "timeout": timeout})

    def download(self, path: Path) -> str:
        return self.page.browser.send("download", page=self.page.name, path=str(path), **self.where)


class Page:
    def __init__(self, browser: Browser, name: str) -> None:
        self.browser, self.name = browser, name

    def goto(self, url: str) -> int:
        return self.browser.send("goto", page=self.name, url=url)

    def css(self, selector: str) -> Locator:
        return Locator(self, selector=selector)

    def role(self, role: str, name: str, exact: bool = False) -> Locator:
        return Locator(self, role=role, name=name, exact=exact)

    def label(self, label: str, exact: bool = True) -> Locator:
        return Locator(self, label=label, exact=exact)

    def eval(self, script: str) -> Any:
        return self.browser.send("eval", page=self.name, script=script)

    @property
    def url(self) -> str:
        return self.eval("location.href")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.browser.send("screenshot", page=self.name, path=str(path))
        return path

    def accessibility_violations(self) -> list[dict[str, Any]]:
        return self.browser.send("axe", page=self.name)

    def offline(self, offline: bool) -> None:
        self.browser.send("offline", page=self.name, offline=offline)

    def console(self) -> list[str]:
        return self.browser.send("console", page=self.name)

    def close(self) -> None:
        self.browser.send("close", page=self.name)
