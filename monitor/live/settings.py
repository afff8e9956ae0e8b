"""Process settings of the live worker, from environment variables or flags.

Every field is documented here once; ``docs/configuration.md`` is generated
from this model (see ``monitor.cli.settings_doc``), so the two cannot drift.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
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


class Settings(BaseSettings):
    """Settings of ``sla-monitor worker`` (environment prefix ``SLA_``)."""

    model_config = SettingsConfigDict(env_prefix="SLA_", frozen=True, extra="ignore")

    policy: Path = Field(Path("deploy/policy.example.yaml"), description="SLA policy YAML file.")
    kafka_bootstrap: KafkaBootstrap = DEFAULT_KAFKA_BOOTSTRAP
    data_dir: Path = Field(Path("./.sla-data"), description="Folder for RocksDB table state (keep it on a persistent volume).")
    web_host: str = Field(
        "0.0.0.0", description="Interface of the web port. The default, every interface, suits a container (the "
        "orchestrator's probes and Prometheus reach it); on a shared host bind 127.0.0.1 or firewall the port. It "
        "serves only /health/live, /health/ready, /metrics and /stats, without authentication (no ticket data; "
        "/stats and /metrics show counts), and 404 for every other path (Faust's own pages are not served)."
    )
    web_port: int = Field(6066, description="Port for /health/live, /health/ready, /metrics and /stats.")
    app_id: str = Field("sla-monitor", description="Consumer group id and prefix of internal topics; workers sharing it share the work.")
    instance_id: str | None = Field(
        None,
        description="Stable consumer-group instance id (static membership): a restarted worker with the same id "
        "gets its partitions back without a rebalance. Use the pod name in a StatefulSet; a worker restarted under "
        "the same id must keep its web address (Faust checks it).",
    )
    session_timeout_s: float = Field(
        6.0, description="Seconds without heartbeats before the broker gives a dead worker's partitions to others."
    )
    heartbeat_interval_s: float = Field(1.0, description="Seconds between consumer heartbeats (well below the session timeout).")
    partitions: int = Field(
        4, ge=1, description="Partitions of the input topic if the worker has to create it; internal topics always "
        "take the input topic's count so that a ticket's messages meet on one worker."
    )
    replication_factor: int = Field(1, ge=1, description="Replication factor of topics the worker creates.")
    stream_buffer: int = Field(
        2000, ge=1, description="Most messages one fetch hands to the worker (the consumer's max_poll_records); "
        "it handles them in batches of SLA_BATCH_MAX, each firing the clocks due by then, so a backlog does not "
        "hold alerts back. Bounds the memory of fetched messages not handled yet."
    )
    producer_linger_s: float = Field(
        0.0, ge=0, description="How long the producer waits to batch changelog and output messages (seconds); "
        "0 measured fastest here, because the agent waits for each alert's acknowledgement."
    )
    batch_max: int = Field(
        500, ge=1, description="Most events handled together: their alerts are published and acknowledged in one "
        "round trip before their states are recorded. Also the most clocks one tick fires, and one batch beside its "
        "ticks: the rest go on in the next batch, so an alert storm's first alerts go out while the others are "
        "decided."
    )
    max_record_bytes: int = Field(
        900_000, ge=4_096, description="Largest message the worker publishes (key, value and headers, in bytes), "
        "below Kafka's 1 MB default max.message.bytes. A record over it, or one the broker refuses for good (too "
        "large, invalid topic), is replaced by a dead letter of kind internal naming it; a dead letter is at most "
        "400 kB (the original is cut at 256 KiB)."
    )
    broker_check_s: float = Field(
        2.0, gt=0, description="How often the worker asks Kafka for its topics' metadata (seconds; each try waits at "
        "most 5 s); /health/ready is 503 while the last try failed."
    )
    publish_stall_s: float = Field(
        10.0, gt=0, description="/health/ready is 503 while a batch's publish has waited longer than this (seconds) "
        "for the broker's acknowledgement, or while its last try failed."
    )
    tick_s: float = Field(0.1, gt=0, description="How often due wake-ups are looked for (seconds).")
    shutdown_timeout_s: float = Field(
        20.0, gt=0, description="Longest wait for a clean stop (leaving the group, flushing) after SIGTERM or "
        "Ctrl-C; then the worker exits anyway, as after kill -9 (state is durable, nothing is lost). A second "
        "signal exits at once. Keep it below the orchestrator's grace period (compose 30 s, Kubernetes 60 s)."
    )
    topic_events: str = Field("tickets.events", description="Input topic of ticket events.")
    topic_probes: str = Field(
        "probes.results", description="Input topic of probe results and maintenance announcements (same partition "
        "count as the ticket topic)."
    )
    topic_warnings: str = Field("sla.warnings", description="Output topic of breach warnings.")
    topic_breaches: str = Field("sla.breaches", description="Output topic of breaches and escalations.")
    topic_outcomes: str = Field("sla.outcomes", description="Output topic of clock outcomes.")
    topic_dead_letter: str = Field("sla.dead-letter", description="Output topic of input that could not be used.")
    topic_clocks: str = Field(
        "sla.clocks", description="Compacted topic (created with cleanup.policy=compact) of every open ticket's "
        "sla.clock record, keyed by ticket id, rewritten after each change of the ticket and tombstoned (null "
        "value) when it is resolved; `sla-monitor board` reads it. Empty: the worker publishes no clock records."
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
    # -- monthly contract report (sla-monitor report) --
    topic_reports: str = Field(
        "sla.reports", description="Output topic of monthly contract reports (`sla-monitor report --publish`), "
        "keyed by report id."
    )
    output_retention_days: int = Field(
        400, ge=1, description="retention.ms (in days) given to the warning, breach, outcome and report topics "
        "when they are created: `sla-monitor report` reads months back from them (three failing months in a "
        "row, a year of history). Topics that already exist keep theirs (see docs/deploy.md)."
    )

    # -- alerts through Alertmanager (sla-monitor notify) --
    alertmanager_url: str = Field(
        "http://127.0.0.1:9093", pattern=r"^https?://[^\s/]+(/\S*)?$",
        description="Alertmanager base URL of `sla-monitor notify` (alerts go to <url>/api/v2/alerts)."
    )
    alertmanager_resolve_timeout_s: float = Field(
        300.0, gt=0, description="Alertmanager's resolve_timeout (seconds; its default is 5 m): an alert not "
        "re-posted for this long ends there. Keep it equal to the Alertmanager configuration's."
    )
    notify_repost_s: float = Field(
        60.0, gt=0, description="How often `sla-monitor notify` re-posts every firing alert (seconds); at most "
        "half of alertmanager_resolve_timeout_s, so one lost post does not end an alert."
    )
    notify_max_firing: int = Field(
        100_000, ge=1, description="Most firing alerts the notifier keeps (and re-posts). One beyond is posted "
        "once, not re-posted, and counted in sla_notify_untracked_alerts_total; it then ends in Alertmanager "
        "after resolve_timeout."
    )
    notify_board_url: str = Field(
        "http://127.0.0.1:8080", pattern=r"^https?://\S+$",
        description="Address of the on-call board (`sla-monitor board`); each alert's generatorURL is "
        "<url>/?ticket=<id>."
    )
    notify_web_host: str = Field(
        "0.0.0.0", description="Interface of the notifier's web port (/health/live, /health/ready, /metrics; "
        "no ticket data). Bind 127.0.0.1 on a shared host."
    )
    notify_web_port: int = Field(6067, description="Port of the notifier's /health/live, /health/ready and /metrics.")

    @model_validator(mode="after")
    def _repost_inside_resolve_timeout(self) -> Settings:
        if self.notify_repost_s > self.alertmanager_resolve_timeout_s / 2:
            raise ValueError(
                f"notify_repost_s ({self.notify_repost_s:g}) must be at most half of "
                f"alertmanager_resolve_timeout_s ({self.alertmanager_resolve_timeout_s:g}), or alerts end in "
                "Alertmanager between two re-posts"
            )
        return self

    @property
    def notify_group(self) -> str:
        """Consumer group of `sla-monitor notify` (offsets committed for lag; it always re-reads the topics)."""
        return f"{self.app_id}-notify"

    @property
    def output_topics(self) -> dict[str, str]:
        """Record type -> topic name."""
        return {
            "sla.warning": self.topic_warnings,
            "sla.breach": self.topic_breaches,
            "sla.escalation": self.topic_breaches,  # escalations follow their breach
            "sla.outcome": self.topic_outcomes,
            "sla.rating": self.topic_outcomes,  # customer ratings travel with the outcomes
        }
