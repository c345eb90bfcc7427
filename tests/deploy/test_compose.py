"""docker-compose.yml and deploy/torrc keep the deployment's promises."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read docker-compose.yml")

ROOT = Path(__file__).resolve().parents[2]
TORRC = ROOT / "deploy" / "torrc"
FRONT_CONFIG = ROOT / "deploy" / "front" / "nginx.conf"
TOR_DOCKERFILE = ROOT / "deploy" / "tor" / "Dockerfile"
FRONT_DOCKERFILE = ROOT / "deploy" / "front" / "Dockerfile"
APP_IMAGE_SERVICES = ("app", "migrate", "manage", "sweeper")
EXACT_TAG = re.compile(r"^[\w./-]+:\d+\.\d+(\.\d+)?(-[\w.-]+)?(@sha256:[0-9a-f]{64})?$|@sha256:[0-9a-f]{64}$")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|DATABASE_URL|PRIVATE|_KEY$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _networks(service: dict[str, Any]) -> list[str]:
    networks = service.get("networks") or []
    return list(networks) if isinstance(networks, (list, dict)) else []


def test_expected_services(services: dict[str, dict[str, Any]]) -> None:
    assert {"app", "db", "tor", "redis", "migrate", "front"} <= set(services)


def test_nothing_is_published(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert "ports" not in service, f"{name} publishes ports"
        assert service.get("network_mode") != "host", f"{name} uses the host network"


def test_every_service_is_hardened(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert service.get("read_only") is True, f"{name}: root filesystem not read-only"
        assert "ALL" in (service.get("cap_drop") or []), f"{name}: capabilities not dropped"
        assert "no-new-privileges:true" in (service.get("security_opt") or []), f"{name}: no-new-privileges"
        assert not service.get("privileged"), f"{name} is privileged"
        assert not service.get("cap_add"), f"{name} adds capabilities"


def test_app_writes_only_to_the_data_volume_and_tmpfs(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_IMAGE_SERVICES:
        service = services[name]
        assert service["volumes"] == ["data:/data"], f"{name}: only the data volume may be writable"
        tmpfs = service.get("tmpfs") or []
        assert [t.split(":")[0] for t in tmpfs] == ["/tmp"], f"{name}: tmpfs only for /tmp"
        assert "noexec" in tmpfs[0]


def test_secrets_come_from_files(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    declared = compose["secrets"]
    for name, spec in declared.items():
        assert set(spec) == {"file"}, f"secret {name} must come from a file"
        assert spec["file"].startswith("./secrets/")
    for name, service in services.items():
        for variable, value in _environment(service).items():
            if SECRET_NAME.search(variable):
                assert variable.endswith("_FILE"), f"{name}: {variable} set inline; use {variable}_FILE"
                assert value.startswith("/run/secrets/"), f"{name}: {variable} must point at a docker secret"
                assert value.removeprefix("/run/secrets/") in (service.get("secrets") or [])
            assert "://" not in value or not re.search(r"://[^/@]*:[^/@]*@", value), (
                f"{name}: {variable} holds a URL with a password"
            )
        for secret in service.get("secrets") or []:
            assert secret in declared
    app_env = _environment(services["app"])
    assert app_env["SECRET_KEY_FILE"] == "/run/secrets/secret_key"
    assert app_env["DATABASE_URL_FILE"] == "/run/secrets/database_url"
    assert app_env["INTAKE_ENV"] == "production"
    assert app_env["RATELIMIT_STORAGE_URI"] == "redis://redis:6379"
    assert not app_env.get("INTAKE_INSECURE_COOKIES")
    assert _environment(services["db"])["POSTGRES_PASSWORD_FILE"] == "/run/secrets/db_password"


def test_images_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name in ("db", "redis"):
        image = services[name]["image"]
        assert EXACT_TAG.search(image), f"{name}: image {image} not pinned to an exact version"
    assert services["db"]["image"].startswith("postgres:15.")
    assert "bookworm" in services["db"]["image"]


def test_only_tor_and_the_notifier_reach_the_internet(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    networks = compose["networks"]
    internal = {name for name, spec in networks.items() if (spec or {}).get("internal") is True}
    for name, service in services.items():
        attached = _networks(service)
        assert attached, f"{name} must name its networks (no default network)"
        if name not in ("tor", "notifier"):
            assert set(attached) <= internal, f"{name} is on a network with internet access"
    assert set(_networks(services["tor"])) - internal, "tor needs a way out to the Tor network"
    # The notifier reaches mail and push servers, and the database; never the front or the onion.
    assert set(_networks(services["notifier"])) == {"backend", "egress"}
    assert "egress" not in internal
    assert set(_networks(services["db"])) == {"backend"}
    assert set(_networks(services["redis"])) == {"backend"}


def test_migrate_is_one_shot_and_gates_the_app(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["command"][-2:] == ["intake", "migrate"]
    assert services["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["manage"]["profiles"] == ["tools"], "operator commands never start with `up`"
    assert "sweep" in " ".join(services["sweeper"]["command"])


def test_app_healthcheck_not_disabled(services: dict[str, dict[str, Any]]) -> None:
    for name in (*APP_IMAGE_SERVICES, "notifier"):
        assert not (services[name].get("healthcheck") or {}).get("disable"), name
    assert "pg_isready" in services["db"]["healthcheck"]["test"]


def test_sweeper_health_is_its_last_sweep(services: dict[str, dict[str, Any]]) -> None:
    """The sweeper runs no gunicorn: the image's /healthz check would call it unhealthy forever."""
    sweeper = services["sweeper"]
    marker = re.search(r"intake sweep && touch (/tmp/\S+);", sweeper["command"][-1])
    assert marker, "a successful sweep must leave a mark"
    test = " ".join(sweeper["healthcheck"]["test"])
    assert marker.group(1) in test and "config.healthcheck" not in test


def test_the_notifier_runs_intake_notify_every_few_minutes_and_its_health_is_its_last_run(
    services: dict[str, dict[str, Any]],
) -> None:
    notifier = services["notifier"]
    assert notifier["image"] == services["app"]["image"] and notifier["restart"] == "unless-stopped"
    loop = notifier["command"][-1]
    marker = re.search(r"flask --app wsgi intake notify && touch (/tmp/\S+);", loop)
    assert marker, "a successful run must leave a mark"
    # Urgent alerts wait for the next run: it must come within minutes
    pause = re.search(r"sleep (\d+)", loop)
    assert pause and int(pause.group(1)) <= 600
    # Healthy while the mark is younger than a few missed runs, and the image's /healthz check is not used
    test = " ".join(notifier["healthcheck"]["test"])
    window = re.search(r"find (/tmp/\S+) -mmin -(\d+)", test)
    assert window and window.group(1) == marker.group(1)
    assert int(pause.group(1)) < int(window.group(2)) * 60 <= 6 * int(pause.group(1))
    assert "config.healthcheck" not in test
    # Digests wait for a fixed hour rather than going out when the day's first request arrived
    assert 0 <= int(_environment(notifier)["INTAKE_NOTIFY_DIGEST_HOUR"]) <= 23
    assert _environment(notifier)["SECRET_KEY_FILE"] == "/run/secrets/secret_key"
    # It needs the database and SECRET_KEY (sealed addresses), not the attachment files
    assert notifier["volumes"] == []
    assert {"secret_key", "database_url"} <= set(notifier["secrets"])
    assert notifier["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_uploads_survive_a_graceful_stop(services: dict[str, dict[str, Any]]) -> None:
    grace = services["app"]["stop_grace_period"]
    assert re.fullmatch(r"\d+m", grace) and int(grace[:-1]) >= 10


def _torrc_options(path: Path) -> list[tuple[str, str]]:
    options = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            options.append((key, value.strip()))
    return options


def test_torrc_defends_the_onion(services: dict[str, dict[str, Any]]) -> None:
    options = _torrc_options(TORRC)
    values = dict(options)
    assert values["SocksPort"] == "0"
    assert values["HiddenServiceVersion"] == "3"
    assert values["HiddenServicePoWDefensesEnabled"] == "1"
    assert values["HiddenServiceEnableIntroDoSDefense"] == "1"
    assert int(values["HiddenServiceEnableIntroDoSRatePerSec"]) > 0
    assert int(values["HiddenServiceEnableIntroDoSBurstPerSec"]) > 0
    assert 0 < int(values["HiddenServiceMaxStreams"]) <= 100
    assert values["HiddenServiceMaxStreamsCloseCircuit"] == "1"
    # The onion forwards to the front server's fixed address and public listener.
    front_address = services["front"]["networks"]["onion"]["ipv4_address"]
    virtual, target = values["HiddenServicePort"].split()
    assert virtual == "80"
    assert target == f"{front_address}:8000"
    assert "listen 8000 " in FRONT_CONFIG.read_text(encoding="utf-8")
    assert "proxy_pass http://app:8000;" in FRONT_CONFIG.read_text(encoding="utf-8")
    assert "0.0.0.0:8000" in _environment(services["app"])["INTAKE_BIND"]


def test_lawyer_onion_example_uses_the_second_listener(services: dict[str, dict[str, Any]]) -> None:
    example = ROOT / "deploy" / "tor" / "torrc.d" / "lawyers.conf.example"
    values = dict(_torrc_options(example))
    front_address = services["front"]["networks"]["onion"]["ipv4_address"]
    assert values["HiddenServicePort"] == f"80 {front_address}:8001"
    assert "listen 8001 " in FRONT_CONFIG.read_text(encoding="utf-8")
    assert "proxy_pass http://app:8001;" in FRONT_CONFIG.read_text(encoding="utf-8")
    assert values["HiddenServiceDir"].endswith("/lawyers")
    assert "0.0.0.0:8001" in _environment(services["app"])["INTAKE_BIND"]


def test_tor_mounts_the_torrc(services: dict[str, dict[str, Any]]) -> None:
    volumes = services["tor"]["volumes"]
    assert "./deploy/torrc:/etc/tor/torrc:ro" in volumes
    assert any(v.startswith("tor-keys:/var/lib/tor") for v in volumes)


TORRC_D = ROOT / "deploy" / "tor" / "torrc.d"


def _tor_configuration(tmp_path: Path, extra: dict[str, str] | None = None) -> Path:
    """The real torrc and the real torrc.d contents, with their paths moved into tmp_path."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    included = tmp_path / "torrc.d"
    included.mkdir()
    files = {path.name: path.read_text(encoding="utf-8") for path in TORRC_D.iterdir()}
    files.update(extra or {})
    for name, text in files.items():
        (included / name).write_text(text.replace("/var/lib/tor", str(data)), encoding="utf-8")
    torrc = TORRC.read_text(encoding="utf-8").replace("/var/lib/tor", str(data))
    torrc = torrc.replace("/etc/tor/torrc.d/", f"{included}/")
    (tmp_path / "torrc").write_text(torrc, encoding="utf-8")
    return tmp_path / "torrc"


def _tor(*args: str) -> str:
    result = subprocess.run(["tor", *args], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _onion_directories(torrc: Path) -> list[str]:
    """What tor itself reads from the configuration, %include expanded."""
    dump = _tor("--dump-config", "short", "-f", str(torrc), "--hush")
    return [line.split(" ", 1)[1] for line in dump.splitlines() if line.startswith("HiddenServiceDir ")]


@pytest.mark.skipif(shutil.which("tor") is None, reason="tor is not installed")
def test_stock_configuration_has_only_the_public_onion(tmp_path: Path) -> None:
    torrc = _tor_configuration(tmp_path)
    _tor("--verify-config", "-f", str(torrc), "--hush")
    assert [Path(d).name for d in _onion_directories(torrc)] == ["public"]


@pytest.mark.skipif(shutil.which("tor") is None, reason="tor is not installed")
def test_following_the_guide_adds_the_lawyers_onion(tmp_path: Path) -> None:
    """docs/operators.md: cp lawyers.conf.example lawyers.conf, then restart tor."""
    example = (TORRC_D / "lawyers.conf.example").read_text(encoding="utf-8")
    torrc = _tor_configuration(tmp_path, {"lawyers.conf": example})
    _tor("--verify-config", "-f", str(torrc), "--hush")
    assert [Path(d).name for d in _onion_directories(torrc)] == ["public", "lawyers"]


def test_recovery_shares_never_reach_docker_logs(services: dict[str, dict[str, Any]]) -> None:
    """`manage init` prints the recovery shares; Docker must not write them to disk."""
    assert services["manage"]["logging"] == {"driver": "none"}


def _front_directives() -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in FRONT_CONFIG.read_text(encoding="utf-8").splitlines())
    return [line.rstrip(";") for line in lines if line.endswith(";")]


def test_only_the_front_server_faces_tor(services: dict[str, dict[str, Any]]) -> None:
    onion = {name for name, service in services.items() if "onion" in _networks(service)}
    assert onion == {"tor", "front"}, "tor must not reach gunicorn around the front server"
    assert "web" in _networks(services["app"]) and "web" in _networks(services["front"])
    assert services["tor"]["depends_on"]["front"]["condition"] == "service_started"


def test_front_service_is_unprivileged_with_tmpfs_and_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    front = services["front"]
    assert front["user"] == "www-data"
    assert not front.get("volumes"), "the front keeps nothing"
    assert [t.split(":")[0] for t in front["tmpfs"]] == ["/run/nginx"]
    assert "/healthz" in " ".join(front["healthcheck"]["test"])
    writable = [d for d in _front_directives() if re.match(r"(pid|\w+_temp_path) ", d)]
    assert len(writable) == 6 and all(d.split()[1].startswith("/run/nginx/") for d in writable)


def test_front_server_streams_and_keeps_no_log(services: dict[str, dict[str, Any]]) -> None:
    directives = _front_directives()
    for required in (
        "server_tokens off",
        "access_log off",
        "proxy_request_buffering off",
        "proxy_buffering off",
        "proxy_http_version 1.1",
        "proxy_max_temp_file_size 0",
    ):
        assert required in directives, required
    assert not any(d.startswith(("log_format", "proxy_cache", "client_body_in_file_only")) for d in directives)


def test_front_image_is_debian_nginx_on_the_tor_base_image() -> None:
    def base(dockerfile: Path) -> str:
        return next(line.split()[1] for line in dockerfile.read_text(encoding="utf-8").splitlines() if line.startswith("FROM "))

    assert base(FRONT_DOCKERFILE) == base(TOR_DOCKERFILE)
    text = FRONT_DOCKERFILE.read_text(encoding="utf-8")
    assert "apt-get install -y --no-install-recommends nginx-light" in text
    assert "COPY nginx.conf intake-small-bodies.conf /etc/nginx/" in text


def test_small_body_routes_are_buffered_only_in_memory() -> None:
    small = (ROOT / "deploy" / "front" / "intake-small-bodies.conf").read_text(encoding="utf-8")
    directives = dict(line.rstrip(";").split(None, 1) for line in small.splitlines() if line.endswith(";"))
    assert directives["proxy_request_buffering"] == "on"
    assert directives["client_max_body_size"] == directives["client_body_buffer_size"] == "1m"
    assert FRONT_CONFIG.read_text(encoding="utf-8").count("include /etc/nginx/intake-small-bodies.conf;") == 2


def test_the_container_check_override_changes_only_health_polling(services: dict[str, dict[str, Any]]) -> None:
    """deploy/container-check runs the production file; its override may only poll health faster."""
    override = yaml.safe_load((ROOT / "deploy" / "ci" / "compose.check.yml").read_text(encoding="utf-8"))
    assert set(override) == {"services"}
    for name, service in override["services"].items():
        assert name in services, f"override names a service production does not have: {name}"
        assert set(service) == {"healthcheck"}, name
        assert set(service["healthcheck"]) == {"interval"}, name
