"""The page behind the real stack: web/dist served by web/serve.py behind an Envoy rendered with --web,
and Chromium (Debian's /usr/bin/chromium) driven by playwright-core."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stack import ROOT, Envoy, Issuer, Server, free_port, wait_until
from tests.web.browser import Browser

WEB = ROOT / "web"


def _need(path: Path, what: str) -> None:
    if not path.exists():
        pytest.fail(f"{what} is missing ({path}); `make web` installs and builds it", pytrace=False)


@pytest.fixture(scope="session")
def web_dist() -> Path:
    """The built page: `make test` builds it first; built here when missing (a bare pytest run)."""
    _need(WEB / "node_modules", "web/node_modules")
    if not (WEB / "dist" / "index.html").exists():
        subprocess.run(["npm", "run", "build"], cwd=WEB, check=True, capture_output=True)
    return WEB / "dist"


class WebServer:
    def __init__(self, dist: Path, issuer: Issuer, log: Path) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(WEB / "serve.py"), "--listen", self.address, "--dist", str(dist), "--issuer", issuer.url],
                stdout=out, stderr=subprocess.STDOUT,
            )
        wait_until(lambda: httpx.get(f"http://{self.address}/config.json").status_code == 200, "web server", log)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="session")
def web_server(web_dist: Path, issuer: Issuer, run_dir: Path) -> Iterator[WebServer]:
    server = WebServer(web_dist, issuer, run_dir / "web.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def web_envoy(run_dir: Path, server: Server, issuer: Issuer, ca_pem: Path, web_server: WebServer) -> Iterator[Envoy]:
    """Envoy with the page on the API's origin (the session's `envoy` has no --web)."""
    edge = Envoy(run_dir, "envoy-web", server, issuer, ca_pem.parent, "--rate-limit", "100000", "--web", web_server.address)
    yield edge
    edge.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    _need(WEB / "node_modules" / "playwright-core", "playwright-core")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    _need(Path(chromium), "Debian's chromium")
    driver = Browser()
    yield driver
    driver.close()
