"""Settings of ``sla-monitor board``, from ``SLA_*`` environment variables or flags.

The Kafka connection settings are the worker's, from one definition
(``monitor.core.connection``: one environment serves both); the board's own are listed in
``docs/configuration.md`` (generated, see ``monitor.cli.settings_doc``).
"""

from __future__ import annotations

import ssl
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from monitor.core.connection import (
    DEFAULT_KAFKA_BOOTSTRAP,
    DEFAULT_SECURITY_PROTOCOL,
    KafkaBootstrap,
    SaslMechanism,
    SaslPassword,
    SaslUsername,
    SecurityProtocol,
    SslCafile,
    SslCertfile,
    SslKeyfile,
)

MAX_LIMIT = 1_000  # most rows /api/clocks and the page return at once


class BoardSettings(BaseSettings):
    """Settings of ``sla-monitor board`` (environment prefix ``SLA_``)."""

    model_config = SettingsConfigDict(env_prefix="SLA_", frozen=True, extra="ignore")

    kafka_bootstrap: KafkaBootstrap = DEFAULT_KAFKA_BOOTSTRAP
    topic_clocks: str = Field("sla.clocks", description="Compacted topic of sla.clock records the board reads.")
    board_host: str = Field(
        "127.0.0.1", description="Interface `sla-monitor board` listens on. The default keeps the page (ticket, "
        "customer and service ids, without authentication) on this machine; set 0.0.0.0 to open it (a container, "
        "a wall screen elsewhere) behind your own access control."
    )
    board_port: int = Field(8080, ge=1, le=65_535, description="Port of `sla-monitor board` (`--port`).")
    board_max_tickets: int = Field(
        500_000, ge=1, description="Most open tickets the board keeps in memory (about 1 KB each, measured by bench/board_bench.py). Records of "
        "further tickets are counted and skipped (the page says how many) until tickets are resolved."
    )
    board_push_s: float = Field(
        0.5, gt=0, le=2, description="How often the board looks for changes to push to open pages by server-sent "
        "events (seconds); a change reaches the page within this plus the worker's own delay."
    )
    security_protocol: SecurityProtocol = DEFAULT_SECURITY_PROTOCOL
    sasl_mechanism: SaslMechanism = None
    sasl_username: SaslUsername = None
    sasl_password: SaslPassword = None
    ssl_cafile: SslCafile = None
    ssl_certfile: SslCertfile = None
    ssl_keyfile: SslKeyfile = None
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="Log lines as JSON, as readable console text, or auto (console on a terminal)."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Lowest log level shown.")

    def client_kwargs(self) -> dict[str, Any]:
        """Connection and security keyword arguments for aiokafka clients (as the worker builds them)."""
        kwargs: dict[str, Any] = {"bootstrap_servers": self.kafka_bootstrap, "security_protocol": self.security_protocol}
        if self.security_protocol in ("SSL", "SASL_SSL"):
            context = ssl.create_default_context(cafile=str(self.ssl_cafile) if self.ssl_cafile else None)
            if self.ssl_certfile:
                context.load_cert_chain(str(self.ssl_certfile), str(self.ssl_keyfile) if self.ssl_keyfile else None)
            kwargs["ssl_context"] = context
        if self.sasl_mechanism:
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password
        return kwargs
