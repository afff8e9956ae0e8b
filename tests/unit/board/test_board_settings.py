"""The board and the worker read the Kafka connection settings from one definition: the same variables, defaults,
validation and messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from monitor.board.settings import BoardSettings
from monitor.live.settings import Settings

CONNECTION = ("kafka_bootstrap", "security_protocol", "sasl_mechanism", "sasl_username", "sasl_password",
              "ssl_cafile", "ssl_certfile", "ssl_keyfile")
ENV = {
    "SLA_KAFKA_BOOTSTRAP": "kafka-1:9093,kafka-2:9093",
    "SLA_SECURITY_PROTOCOL": "SASL_SSL",
    "SLA_SASL_MECHANISM": "SCRAM-SHA-512",
    "SLA_SASL_USERNAME": "board",
    "SLA_SASL_PASSWORD": "secret",
    "SLA_SSL_CAFILE": "/etc/kafka/ca.pem",
    "SLA_SSL_CERTFILE": "/etc/kafka/client.pem",
    "SLA_SSL_KEYFILE": "/etc/kafka/client.key",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No connection variable from the environment the tests run in."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _connection(settings: Settings | BoardSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in CONNECTION}


def test_both_declare_the_same_connection_fields() -> None:
    """Every connection field has the same type, default and description in the worker's and the board's settings."""
    for name in CONNECTION:
        worker, board = Settings.model_fields[name], BoardSettings.model_fields[name]
        assert (worker.annotation, worker.default, worker.description, worker.metadata) == \
            (board.annotation, board.default, board.description, board.metadata), name


def test_both_read_the_same_environment_the_same_way(clean_env: pytest.MonkeyPatch) -> None:
    """One environment gives the worker and the board the same connection settings, and both default alike."""
    assert _connection(Settings()) == _connection(BoardSettings()) == {
        "kafka_bootstrap": "127.0.0.1:9092", "security_protocol": "PLAINTEXT", "sasl_mechanism": None,
        "sasl_username": None, "sasl_password": None, "ssl_cafile": None, "ssl_certfile": None, "ssl_keyfile": None}
    for name, value in ENV.items():
        clean_env.setenv(name, value)
    assert _connection(Settings()) == _connection(BoardSettings()) == {
        "kafka_bootstrap": "kafka-1:9093,kafka-2:9093", "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "board", "sasl_password": "secret",
        "ssl_cafile": Path("/etc/kafka/ca.pem"), "ssl_certfile": Path("/etc/kafka/client.pem"),
        "ssl_keyfile": Path("/etc/kafka/client.key")}


@pytest.mark.parametrize(("name", "value"), [("SLA_SECURITY_PROTOCOL", "TLS"), ("SLA_SASL_MECHANISM", "GSSAPI")])
def test_both_refuse_a_bad_value_with_the_same_message(clean_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    """A protocol or mechanism outside the allowed ones is refused by both, naming the field and the choices."""
    clean_env.setenv(name, value)
    errors = []
    for cls in (Settings, BoardSettings):
        with pytest.raises(ValidationError) as refused:
            cls()
        errors.append([(e["loc"], e["msg"]) for e in refused.value.errors()])
    assert errors[0] == errors[1]
    assert errors[0][0][0] == (name.removeprefix("SLA_").lower(),)
    assert errors[0][0][1].startswith("Input should be ")
