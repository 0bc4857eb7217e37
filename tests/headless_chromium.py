"""Just enough of the Chrome DevTools Protocol to drive Debian's headless Chromium from a test.

Chromium listens on a port it picks (``--remote-debugging-port=0``) and writes it to
``DevToolsActivePort`` in its profile folder; we talk to its first tab over a websocket (the
``websockets`` package Airflow already depends on). Nothing is downloaded: no Playwright, no driver.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--disable-crash-reporter",
    "--remote-debugging-port=0",
)


def chromium_binary() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        raise RuntimeError("Chromium not found: run `make system-deps` (Debian package chromium)")
    return found


class CdpError(RuntimeError):
    pass


class Chromium:
    """A headless Chromium with a fresh profile, and its first tab."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 900) -> None:
        self.profile = profile
        self.width, self.height = width, height
        self._next_id = 0
        self.process: subprocess.Popen | None = None
        self.socket = None

    def __enter__(self) -> Chromium:
        try:
            return self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise

    def _start(self) -> Chromium:
        self.profile.mkdir(parents=True, exist_ok=True)
        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)  # a stale one would name a dead port
        self.log = (self.profile.parent / "chromium.log").open("w")
        self.process = subprocess.Popen(
            [
                chromium_binary(),
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={self.width},{self.height}",
                "about:blank",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Chromium did not start; see {self.log.name}")
            try:
                port = int(port_file.read_text().split()[0])
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as response:
                    page = next(t for t in json.load(response) if t["type"] == "page")
                break
            except (OSError, ValueError, IndexError, StopIteration):
                time.sleep(0.1)
        self.socket = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return self

    def __exit__(self, *exc_info) -> None:
        if self.socket is not None:
            self.socket.close()
        if self.process is not None and self.process.poll() is None:  # the browser and its helpers
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if getattr(self, "log", None):
            self.log.close()
        self._remove_socket_folder()

    def _remove_socket_folder(self) -> None:
        """Remove the temporary folder Chromium keeps its singleton socket in, which a browser stopped by a
        signal leaves in /tmp (one a run): the profile's SingletonSocket links to the socket in it."""
        try:
            folder = Path(os.readlink(self.profile / "SingletonSocket")).parent
        except OSError:  # never started, or it removed its own
            return
        if folder.name.startswith("org.chromium.Chromium."):
            shutil.rmtree(folder, ignore_errors=True)

    def send(self, method: str, timeout: float = 30, **params: Any) -> dict:
        """Call a CDP method and return its result (events received meanwhile are dropped)."""
        self._next_id += 1
        self.socket.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise CdpError(f"{method}: {message['error']}")
                return message.get("result", {})

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited), as JSON."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise CdpError(f"{expression[:80]}...: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 30) -> Any:
        """Poll ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(expression)
            except CdpError:  # e.g. the page is navigating
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.2)

    def type_into(self, selector: str, text: str) -> None:
        """Focus a field and type into it as a user would (React sees real input events)."""
        self.evaluate(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", text=text)

    def accessible_names(self, selector: str) -> list[tuple[str, str]]:
        """(role, name) of each element matching ``selector``, from the browser's accessibility tree: what
        a screen reader is given."""
        document = self.send("DOM.getDocument", depth=0)["root"]["nodeId"]
        found = []
        for node in self.send("DOM.querySelectorAll", nodeId=document, selector=selector)["nodeIds"]:
            [ax_node, *_] = self.send("Accessibility.getPartialAXTree", nodeId=node, fetchRelatives=False)["nodes"]
            found.append((ax_node["role"]["value"], ax_node.get("name", {}).get("value", "")))
        return found

    def screenshot(self, path: Path) -> bytes:
        data = base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data
