"""docker-compose.yaml: valid, complete, secret-free, and configured like the local stack (`make demo`).

With the compose plugin present, `docker compose config` validates the file as Docker would; without it (as on
this project's CI machines) the structure is checked with PyYAML. Either way the checks below always run.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from crypto_insights.cli import build_parser
from crypto_insights.paths import REPO_ROOT
from crypto_insights.postgres.connection import ROLE_USERS

COMPOSE = REPO_ROOT / "docker-compose.yaml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
SERVICES = {
    "postgres",
    "warehouse-init",
    "airflow-init-dirs",
    "airflow-init",
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "superset-init",
    "superset",
    "exchange",
    "airflow-cli",
}
ONE_SHOT = {"warehouse-init", "airflow-init-dirs", "airflow-init", "superset-init", "airflow-cli"}
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(:?[-?])?([^}]*)\}")
VOLUME = re.compile(r"(\$\{[^}]*\}[^:]*|[^:]+):([^:]+)(?::ro|:rw)?")  # source:target[:mode]
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    return {k: str(v) for k, v in env.items()} if isinstance(env, dict) else dict(e.split("=", 1) for e in env)


def _command(service: dict) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def test_docker_compose_config_accepts_it_when_docker_compose_is_installed(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if not docker or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:
        pytest.skip("the docker compose plugin is not installed here: the structural checks below stand in for it")
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{name}=x{i}\n" for i, name in enumerate(_env_example())))
    ok = subprocess.run(
        [
            docker,
            "compose",
            "-f",
            str(COMPOSE),
            "--env-file",
            str(env_file),
            "--profile",
            "offline",
            "config",
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    empty = tmp_path / "empty.env"
    empty.write_text("")
    missing = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "--env-file", str(empty), "config", "--quiet"],
        capture_output=True,
        text=True,
    )
    assert missing.returncode != 0 and "set it in .env" in missing.stderr


def test_every_service_is_there_with_health_or_a_one_shot_exit(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == SERVICES
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no" and "healthcheck" not in service, name
        else:
            check = service.get("healthcheck", {})
            assert check.get("test") and check.get("interval") and check.get("retries"), f"{name}: no healthcheck"
            assert service.get("restart") == "unless-stopped", name
    assert services["exchange"]["profiles"] == ["offline"]
    assert services["airflow-cli"]["profiles"] == ["debug"]  # as in Airflow's official compose file
    assert all("profiles" not in s for n, s in services.items() if n not in ("exchange", "airflow-cli"))


def test_dags_logs_and_config_live_on_the_host_as_in_airflows_compose(compose: dict) -> None:
    services = compose["services"]
    for name in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        mounts = {VOLUME.fullmatch(v).group(2): v for v in services[name]["volumes"]}
        assert mounts["/opt/crypto-insights/dags"].startswith("${AIRFLOW_PROJ_DIR:-.}/dags"), name
        assert mounts["/var/lib/crypto-insights/airflow/logs"].startswith("${AIRFLOW_PROJ_DIR:-.}/logs"), name
        assert mounts["/var/lib/crypto-insights/airflow/config"].startswith("${AIRFLOW_PROJ_DIR:-.}/config"), name
        assert "/var/lib/crypto-insights/dbt/docs" in mounts, name  # the docs the maintenance DAG publishes
    init_dirs = services["airflow-init-dirs"]
    assert init_dirs["user"] == "0:0" and "chown -R 50000:0 /sources/logs /sources/config" in init_dirs["command"][-1]
    assert "airflow-init-dirs" in services["airflow-init"]["depends_on"]
    # the repo's config/ is Airflow's config folder in the containers: the same settings module as `make demo`
    from crypto_insights.stack.airflow_env import LOCAL_SETTINGS_SHIM

    assert (REPO_ROOT / "config" / "airflow_local_settings.py").read_text() == LOCAL_SETTINGS_SHIM


def test_dependencies_wait_for_health_or_completion_and_have_no_cycle(compose: dict) -> None:
    services = compose["services"]
    graph: dict[str, set[str]] = {}
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on must name a condition for each service"
        for dependency, spec in depends.items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            wanted = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert spec == {"condition": wanted}, (name, dependency, spec)
        graph[name] = set(depends)
    order: list[str] = []
    while graph:
        ready = sorted(n for n, deps in graph.items() if deps <= set(order))
        assert ready, f"dependency cycle among {sorted(graph)}"
        order += ready
        for n in ready:
            del graph[n]
    assert order.index("warehouse-init") < order.index("airflow-init") < order.index("airflow-scheduler")
    assert order.index("superset-init") < order.index("superset")


def test_no_password_or_secret_is_written_in_the_file(compose: dict) -> None:
    required = set()
    for name, service in compose["services"].items():
        for key, value in _environment(service).items():
            for var, operator, message in INTERPOLATION.findall(value):
                if SECRET_NAME.search(var):
                    assert operator == ":?" and message, f"{name}.{key}: ${{{var}}} must be required (:?)"
                    required.add(var)
            names_a_secret = SECRET_NAME.search(key) and not key.endswith("_FILE")
            if names_a_secret or ("://" in value and "@" in value):
                assert "${" in value, f"{name}.{key} holds a literal secret"
    text = COMPOSE.read_text()
    assert not re.search(r"(?i)password\s*[:=]\s*['\"]?(admin|postgres|airflow|superset|secret)\b", text)
    example = _env_example()
    assert required <= set(example), f"missing from .env.example: {sorted(required - set(example))}"
    assert all(example[var] == "" for var in required), ".env.example must leave every secret empty"


def test_services_are_configured_like_the_local_stack(compose: dict, pg) -> None:
    from crypto_insights.dashboards.environment import superset_environment
    from crypto_insights.stack.airflow_env import airflow_environment

    services = compose["services"]
    local_airflow = {k for k in airflow_environment({}) if k.startswith(("AIRFLOW", "CRYPTO_INSIGHTS"))}
    for name in ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        env = _environment(services[name])
        assert local_airflow <= set(env), f"{name} lacks {sorted(local_airflow - set(env))}"
        assert {"COINBASE_API_URL", "CRYPTO_INSIGHTS_CONFIG"} <= set(env)
        assert env["AIRFLOW_CONN_CRYPTO_WAREHOUSE"].startswith("postgresql://crypto_loader:")
        assert env["AIRFLOW_CONN_CRYPTO_TRANSFORM"].startswith("postgresql://crypto_transform:")
    local_superset = {
        k
        for k in superset_environment({})
        if k.startswith("SUPERSET_") and k not in {"SUPERSET_CONFIG_PATH", "SUPERSET_HOME"}
    }  # these two the CLI sets itself, in the container as locally
    for name in ("superset-init", "superset"):
        env = _environment(services[name])
        assert local_superset <= set(env), f"{name} lacks {sorted(local_superset - set(env))}"
        assert env["CRYPTO_INSIGHTS_READER_URL"].startswith("postgresql://crypto_reader:")


def test_commands_are_real_cli_commands_and_files(compose: dict) -> None:
    parser = build_parser()
    for name, service in compose["services"].items():
        command = _command(service)
        if command[:1] == ["crypto-insights"]:
            parser.parse_args(command[1:])  # exits on an unknown subcommand or option
        if command[:1] == ["python"]:
            assert (REPO_ROOT / command[1]).is_file(), f"{name}: {command[1]} does not exist"
        build = service.get("build")
        if build:
            assert (REPO_ROOT / build["context"] / build["dockerfile"]).is_file()


def test_the_warehouse_init_gives_every_application_role_a_password_from_env() -> None:
    text = (REPO_ROOT / "docker" / "init_warehouse.py").read_text()
    for user in set(ROLE_USERS.values()) - {"crypto_admin"}:
        assert re.search(rf'"{user}": "[A-Z_]+_PASSWORD"', text), f"{user} has no password variable"
