"""The Kafka connection settings, defined once for every process that reads them.

The worker's ``Settings`` (``monitor.live.settings``, also read by notify and the
tools) and the board's ``BoardSettings`` (``monitor.board.settings``) declare these
fields with the types below, which carry the validation and the description, and
these defaults: one environment (``SLA_KAFKA_BOOTSTRAP``, ``SLA_SECURITY_PROTOCOL``,
``SLA_SASL_*``, ``SLA_SSL_*``) serves both. The definitions live in the core
because the board and the worker may share nothing else (``tests/unit/test_layout.py``);
they are types and constants, no I/O.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import Field

DEFAULT_KAFKA_BOOTSTRAP: Final = "127.0.0.1:9092"
DEFAULT_SECURITY_PROTOCOL: Final = "PLAINTEXT"

KafkaBootstrap = Annotated[str, Field(description="Kafka bootstrap servers, comma-separated host:port.")]
SecurityProtocol = Annotated[Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"],
                             Field(description="Kafka security protocol, passed to aiokafka.")]
SaslMechanism = Annotated[Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None,
                          Field(description="SASL mechanism.")]
SaslUsername = Annotated[str | None, Field(description="SASL user name.")]
SaslPassword = Annotated[str | None, Field(description="SASL password (prefer a mounted secret).")]
SslCafile = Annotated[Path | None, Field(description="CA bundle to verify the brokers (SSL / SASL_SSL).")]
SslCertfile = Annotated[Path | None, Field(description="Client certificate for mutual TLS.")]
SslKeyfile = Annotated[Path | None, Field(description="Client private key for mutual TLS.")]

