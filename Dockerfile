# syntax=docker/dockerfile:1
# sla-monitor worker image: `docker build -t sla-monitor:0.1.0 .`
# The install step is the one `make setup` runs (pip with constraints.txt), minus the test extra.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/sla-monitor
COPY pyproject.toml constraints.txt README.md ./
COPY monitor ./monitor
RUN /opt/sla-monitor/bin/pip install --no-cache-dir -c constraints.txt .

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="sla-monitor" \
      org.opencontainers.image.description="Real-time SLA monitor for service desks: Kafka in, warnings, breaches and outcomes out" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 sla \
    && useradd --system --uid 10001 --gid sla --home-dir /var/lib/sla-monitor --shell /usr/sbin/nologin sla \
    && mkdir -p /var/lib/sla-monitor /etc/sla-monitor \
    && chown sla:sla /var/lib/sla-monitor
COPY --from=build /opt/sla-monitor /opt/sla-monitor
# rocksdict's wheel bundles RocksDB and needs only libstdc++6 and libgcc-s1, which the slim base
# already has (apt depends on them): fail the build here, not at the first start, if that changes.
RUN ["/opt/sla-monitor/bin/python", "-c", "import rocksdict, monitor.live.app"]
# A policy to start with; mount your own over it (docker -v / a ConfigMap).
COPY deploy/policy.example.yaml /etc/sla-monitor/policy.yaml
ENV PATH=/opt/sla-monitor/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SLA_POLICY=/etc/sla-monitor/policy.yaml \
    SLA_DATA_DIR=/var/lib/sla-monitor \
    SLA_LOG_FORMAT=json \
    SLA_WEB_PORT=6066
USER 10001:10001
WORKDIR /var/lib/sla-monitor
# RocksDB table state: keep it on a volume so a restart recovers from disk, not the changelogs.
VOLUME ["/var/lib/sla-monitor"]
EXPOSE 6066
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('SLA_WEB_PORT', '6066'), timeout=2)"]
ENTRYPOINT ["sla-monitor"]
CMD ["worker"]
