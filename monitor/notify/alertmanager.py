"""Alertmanager's v2 API, the one call the notifier makes: ``POST /api/v2/alerts``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp

REQUEST_TIMEOUT_S = 10.0


class Unreachable(Exception):
    """Alertmanager did not take the alerts now (connection, timeout, 5xx, 429): retry later."""


class Refused(Exception):
    """Alertmanager refused the alerts for good (4xx: invalid alert); retrying the same body cannot help."""


class AlertmanagerClient:
    """Posts alerts to one Alertmanager."""

    def __init__(self, base_url: str, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.url = base_url.rstrip("/") + "/api/v2/alerts"
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def post(self, alerts: Sequence[dict[str, Any]]) -> None:
        """Post alerts; Unreachable or Refused when Alertmanager did not take them."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.post(self.url, json=list(alerts)) as response:
                body = (await response.text())[:500]
                if response.status == 200:
                    return
                if 400 <= response.status < 500 and response.status not in (408, 429):
                    raise Refused(f"HTTP {response.status}: {body.strip()}")
                raise Unreachable(f"HTTP {response.status}: {body.strip()}")
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise Unreachable(f"{type(error).__name__}: {error}") from None

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None
