"""The Dockerfile keeps its promises (there is no Docker engine to build it here).

deploy/smoke performs the same build steps without Docker; these tests also
check that the Dockerfile, .dockerignore and deploy/smoke copy the same files.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tests.deploy.dockerfile import Stage, env_of, exec_form, instructions, stages

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
TOR_DOCKERFILE = ROOT / "deploy" / "tor" / "Dockerfile"

# An exact version: python:3.11.13-slim-bookworm, debian:12.11-slim, or a digest.
EXACT_PYTHON = re.compile(r"^python:3\.\d+\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$")
EXACT_TAG = re.compile(r"^[\w./-]+:\d+\.\d+(\.\d+)?(-[\w.-]+)?(@sha256:[0-9a-f]{64})?$|@sha256:[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def app_stages() -> list[Stage]:
    return stages(DOCKERFILE)


@pytest.fixture(scope="module")
def runtime(app_stages: list[Stage]) -> Stage:
    return app_stages[-1]


@pytest.fixture(scope="module")
def builder(app_stages: list[Stage]) -> Stage:
    return app_stages[0]


def test_multi_stage_and_pinned_base_images(app_stages: list[Stage]) -> None:
    assert len(app_stages) >= 2, "builder and runtime stages"
    for stage in app_stages:
        assert EXACT_PYTHON.match(stage.image), f"base image not pinned by exact tag: {stage.image}"
    tor_stages = stages(TOR_DOCKERFILE)
    for stage in tor_stages:
        assert EXACT_TAG.search(stage.image), f"tor base image not pinned: {stage.image}"
        assert "latest" not in stage.image


def test_runtime_runs_as_fixed_non_root_user(runtime: Stage) -> None:
    users = runtime.all("USER")
    assert users, "no USER in the runtime stage"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) >= 1000, f"USER should be a fixed unprivileged uid, got {users[-1]}"
    # Nothing after USER switches back to root.
    after = runtime.instructions[[i.args for i in runtime.instructions].index(users[-1]) :]
    assert not [i for i in after if i.keyword == "USER" and i.args.split(":")[0] in ("0", "root")]


def test_runtime_environment(runtime: Stage) -> None:
    env = env_of(runtime)
    assert env.get("INTAKE_ENV") == "production"
    assert env.get("INTAKE_DATA_DIR") == "/data"
    assert env.get("INTAKE_BLOB_DIR") == "/data/blobs"
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"
    # Secrets never come from the image.
    for stage in stages(DOCKERFILE):
        for name in env_of(stage):
            assert not re.search(r"SECRET|PASSWORD|DATABASE_URL$|TOKEN", name), f"secret-ish ENV {name}"
        for arg in stage.all("ARG"):
            assert not re.search(r"SECRET|PASSWORD|TOKEN", arg), f"secret-ish ARG {arg}"


def test_only_the_data_volume(runtime: Stage) -> None:
    volumes = [v for args in runtime.all("VOLUME") for v in (exec_form(args) or shlex.split(args))]
    assert volumes == ["/data"]


def test_healthcheck_asks_the_configured_listener_without_curl(runtime: Stage) -> None:
    checks = runtime.all("HEALTHCHECK")
    assert len(checks) == 1
    check = checks[0]
    assert exec_form(check.split("CMD", 1)[1]) == ["python", "-m", "config.healthcheck"]
    assert "--interval=" in check and "--timeout=" in check


def test_no_frontend_is_fetched_to_parse_the_dockerfile() -> None:
    """`# syntax=` makes BuildKit pull an unpinned frontend image: fails offline, floats."""
    for path in (DOCKERFILE, TOR_DOCKERFILE):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert not re.match(r"#\s*syntax\s*=", first, re.IGNORECASE), path


def test_cmd_is_gunicorn_with_the_packaged_config(runtime: Stage) -> None:
    cmd = exec_form(runtime.all("CMD")[-1])
    assert cmd == ["gunicorn", "-c", "python:config.gunicorn", "wsgi:app"]
    assert not runtime.all("ENTRYPOINT")


def test_every_pip_install_is_hashed_or_the_wheel_alone() -> None:
    runs = [i.args for i in instructions(DOCKERFILE) if i.keyword == "RUN"]
    installs = [part.strip() for run in runs for part in run.split("&&") if "pip install" in part]
    assert installs
    for part in installs:
        if "intake-*.whl" in part:
            assert "--no-deps" in part, f"the wheel must not resolve anything outside the lock: {part}"
        else:
            assert "--require-hashes -r requirements/" in part, f"pip install outside the hashed lock: {part}"
    assert "--require-hashes -r requirements/runtime.txt" in " ".join(installs)


def test_locks_pin_every_package_with_hashes() -> None:
    for name in ("runtime", "build", "dev"):
        text = (ROOT / "requirements" / f"{name}.txt").read_text(encoding="utf-8")
        pins = re.findall(r"^(\S+)==\S+ \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.MULTILINE)
        requirements = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
        assert pins and len(pins) == len(requirements), f"requirements/{name}.txt: every line pinned and hashed"


def test_wheel_built_after_compiling_translations(builder: Stage) -> None:
    runs = " ".join(builder.all("RUN"))
    assert "deploy/build-wheel" in runs
    assert runs.index("deploy/build-wheel") < runs.index("intake-*.whl"), "install the wheel after building it"
    assert "deploy/check-catalogues" in runs
    script = (ROOT / "deploy" / "build-wheel").read_text(encoding="utf-8")
    compile_at = script.index("babel.messages.frontend compile")
    wheel_at = script.index("pip wheel")
    assert compile_at < wheel_at, "translations must be compiled before the wheel is built"
    assert "find intake -name '*.po'" in script
    assert "--no-build-isolation" in script, "build tools come from requirements/build.txt, not fetched"


def test_runtime_copies_only_the_venv(runtime: Stage) -> None:
    copies = runtime.all("COPY")
    assert copies == ["--from=builder /opt/intake /opt/intake"]


def _builder_sources(builder: Stage) -> set[str]:
    sources: set[str] = set()
    for args in builder.all("COPY"):
        words = [w for w in shlex.split(args) if not w.startswith("--")]
        sources.update(w.rstrip("/") for w in words[:-1])
    return sources


def _dockerignore_allowlist() -> set[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert "*" in lines, ".dockerignore must start from 'ignore everything'"
    return {line[1:].rstrip("/") for line in lines if line.startswith("!")}


def _smoke_sources() -> set[str]:
    text = (ROOT / "deploy" / "smoke").read_text(encoding="utf-8")
    match = re.search(r"^SOURCES=\(([^)]*)\)", text, re.MULTILINE)
    assert match, "deploy/smoke lists its SOURCES"
    return set(match.group(1).split())


def test_dockerfile_dockerignore_and_smoke_copy_the_same_files(builder: Stage) -> None:
    assert _builder_sources(builder) == _dockerignore_allowlist() == _smoke_sources()
    for path in _smoke_sources():
        assert (ROOT / path).exists(), f"{path} is copied but does not exist"


def test_package_sources_are_all_copied(builder: Stage) -> None:
    """Every top-level package pyproject.toml packages must be in the image."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    include = re.search(r"include\s*=\s*\[([^\]]*)\]", pyproject)
    assert include
    packages = {p.strip().strip('"').rstrip("*") for p in include.group(1).split(",") if p.strip()}
    assert packages <= _builder_sources(builder)


def test_nothing_secret_can_enter_the_build_context() -> None:
    allow = _dockerignore_allowlist()
    for forbidden in ("secrets", ".git", ".venv", "instance", ".env"):
        assert forbidden not in allow


def test_smoke_is_executable_and_strict() -> None:
    smoke = ROOT / "deploy" / "smoke"
    assert smoke.stat().st_mode & 0o111
    text = smoke.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash")
    assert "set -euo pipefail" in text
    assert "trap cleanup EXIT" in text
