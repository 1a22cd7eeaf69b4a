"""A real Alertmanager for tests (Debian's ``prometheus-alertmanager``): its own folder, loopback port and config,
one webhook receiver (``send_resolved``, a bearer token), short group waits; no cluster gossip.

``SMSRELAY_ALERTMANAGER_BIN=<file>`` picks the program (``=/nonexistent``: the skip path).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

_CONFIG = """\
route:
  receiver: smsrelay
  group_by: ['alertname', 'instance']
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: smsrelay
    webhook_configs:
      - url: '{url}'
        send_resolved: true
        http_config:
          authorization:
            credentials: '{token}'
"""


def find_alertmanager() -> Path | None:
    """The program: ``$SMSRELAY_ALERTMANAGER_BIN`` if set, else ``prometheus-alertmanager`` on the PATH."""
    chosen = os.environ.get("SMSRELAY_ALERTMANAGER_BIN")
    if chosen is not None:
        return Path(chosen) if Path(chosen).is_file() else None
    found = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    return Path(found) if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Alertmanager:
    """Started by ``__enter__`` (ready when it returns), stopped and removed by ``__exit__``."""

    def __init__(self, binary: Path, receiver_url: str, token: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="smsrelay-alertmanager-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (self.root / "alertmanager.yml").write_text(_CONFIG.format(url=receiver_url, token=token))
        self._binary = binary
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        log = (self.root / "alertmanager.log").open("wb")
        self._process = subprocess.Popen(
            [str(self._binary), f"--config.file={self.root / 'alertmanager.yml'}",
             f"--storage.path={self.root / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}",
             "--cluster.listen-address="],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"Alertmanager ended at start-up:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"Alertmanager was not ready within 30 s:\n{self.log_tail()}")

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        path = self.root / "alertmanager.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """``POST /api/v2/alerts``: a list of ``{labels, annotations, startsAt[, endsAt]}``."""
        httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=5).raise_for_status()

    def alerts(self, alertname: str) -> list[dict[str, Any]]:
        """The alerts of that name Alertmanager holds now (firing, silenced or not; a resolved one is gone)."""
        answer = httpx.get(f"{self.url}/api/v2/alerts", params={"filter": f'alertname="{alertname}"'}, timeout=5)
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found

    def silences(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v2/silences", timeout=5)
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found
