"""Alertmanager's silences API (v2), for the Silence and Expire buttons: not an SMS provider, but the same kind of
outside HTTP API. Basic auth may sit in ``ALERTMANAGER_URL``; it goes into the auth header and never into a
message. Every failure is ``AlertmanagerError`` with one line a person can read."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import httpx

from bot.formatting import truncate

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class AlertmanagerError(Exception):
    """Alertmanager could not be reached or refused; ``str()`` is one line without the URL or its password."""


class AlertmanagerClient:
    def __init__(self, url: str, *, timeout: httpx.Timeout = TIMEOUT) -> None:
        parts = urlsplit(url)
        auth = None
        if parts.username is not None:  # as written in a URL: percent-encoded (p%40ss is p@ss)
            auth = httpx.BasicAuth(unquote(parts.username), unquote(parts.password or ""))
        netloc = parts.hostname or ""
        if ":" in netloc:  # an IPv6 address
            netloc = f"[{netloc}]"
        if parts.port is not None:
            netloc += f":{parts.port}"
        base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        self._client = httpx.AsyncClient(base_url=base, auth=auth, timeout=timeout)

    async def create_silence(
        self, labels: dict[str, str], starts: datetime, ends: datetime, *, created_by: str, comment: str
    ) -> str:
        """A silence matching exactly these labels (one ``isEqual`` matcher each) from ``starts`` to ``ends``."""
        body = {
            "matchers": [
                {"name": name, "value": value, "isRegex": False, "isEqual": True}
                for name, value in sorted(labels.items())
            ],
            "startsAt": starts.isoformat(),
            "endsAt": ends.isoformat(),
            "createdBy": created_by,
            "comment": comment,
        }
        response = await self._call("POST", "/api/v2/silences", body)
        try:
            silence_id = response.json()["silenceID"]
        except (ValueError, KeyError, TypeError):
            raise AlertmanagerError("Alertmanager's answer had no silence id") from None
        if not isinstance(silence_id, str) or not silence_id:
            raise AlertmanagerError("Alertmanager's answer had no silence id")
        return silence_id

    async def active_fingerprints(self) -> set[str]:
        """The fingerprints of every alert Alertmanager holds now, silenced or not; a resolved one it drops."""
        response = await self._call("GET", "/api/v2/alerts")
        try:
            return {str(alert["fingerprint"]) for alert in response.json() if isinstance(alert, dict)}
        except (ValueError, TypeError, KeyError):
            raise AlertmanagerError("Alertmanager's answer was not a list of alerts") from None

    async def expire_silence(self, silence_id: str) -> None:
        await self._call("DELETE", f"/api/v2/silence/{quote(silence_id, safe='')}")

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.TimeoutException:
            raise AlertmanagerError("Alertmanager did not answer in time") from None
        except httpx.ConnectError:
            raise AlertmanagerError("Alertmanager could not be reached (no connection)") from None
        except httpx.HTTPError:
            raise AlertmanagerError("Alertmanager could not be reached (the connection failed)") from None
        if response.status_code in (401, 403):
            raise AlertmanagerError(f"Alertmanager refused the credentials in its URL ({response.status_code})")
        if response.status_code >= 400:
            said = " ".join(response.text.split()).strip('"')
            raise AlertmanagerError(
                f"Alertmanager refused ({response.status_code}" + (f": {truncate(said, 150)})" if said else ")")
            )
        return response

    async def aclose(self) -> None:
        await self._client.aclose()
