"""Configuration fails closed in production and never invents a secret there."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config import Config, ConfigError, Environment, KdfProfile

LONG_SECRET = "x" * 40


def test_production_without_secret_key_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Config.from_env({"INTAKE_DATA_DIR": str(tmp_path)})


def test_production_is_the_default_environment(tmp_path: Path) -> None:
    config = Config.from_env({"SECRET_KEY": LONG_SECRET, "INTAKE_DATA_DIR": str(tmp_path)})
    assert config.is_production
    assert config.environment is Environment.PRODUCTION
    assert config.kdf_profile is KdfProfile.PRODUCTION


def test_secret_key_can_come_from_a_file(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(LONG_SECRET + "\n")
    config = Config.from_env({"SECRET_KEY_FILE": str(secret_file), "INTAKE_DATA_DIR": str(tmp_path)})
    assert config.secret_key == LONG_SECRET.encode()


def test_unreadable_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY_FILE cannot be read"):
        Config.from_env({"SECRET_KEY_FILE": str(tmp_path / "missing")})


def test_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 32"):
        Config.from_env({"SECRET_KEY": "short", "INTAKE_DATA_DIR": str(tmp_path)})


def test_development_generates_and_keeps_a_local_secret(tmp_path: Path) -> None:
    environ = {"INTAKE_ENV": "development", "INTAKE_DATA_DIR": str(tmp_path)}
    first = Config.from_env(environ)
    second = Config.from_env(environ)
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 32
    assert (tmp_path / "dev-secret-key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"INTAKE_INSECURE_COOKIES": "1"}, "development only"),
        ({"INTAKE_KDF_PROFILE": "fast"}, "only with INTAKE_ENV=test"),
        ({"INTAKE_ENV": "staging"}, "INTAKE_ENV must be"),
        ({"INTAKE_KDF_PROFILE": "quick"}, "INTAKE_KDF_PROFILE must be"),
        ({"INTAKE_MAX_FILE_BYTES": "lots"}, "must be an integer"),
        ({"INTAKE_MAX_FILE_BYTES": "0"}, "must be positive"),
        ({"INTAKE_ONION_LOCATION": "https://example.org"}, "v3 .onion"),
        ({"INTAKE_SMTP_URL": "http://mail.example.org"}, "INTAKE_SMTP_URL must be"),
        ({"INTAKE_SMTP_URL": "smtps://"}, "INTAKE_SMTP_URL must be"),
        ({"INTAKE_SMTP_URL": "smtp://mail.example.org:99999"}, "INTAKE_SMTP_URL must be"),
    ],
)
def test_unsafe_or_malformed_settings_are_refused(tmp_path: Path, environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env({"SECRET_KEY": LONG_SECRET, "INTAKE_DATA_DIR": str(tmp_path), **environ})


def test_sqlite_under_the_data_dir_is_the_embedded_default(tmp_path: Path) -> None:
    config = Config.from_env({"SECRET_KEY": LONG_SECRET, "INTAKE_DATA_DIR": str(tmp_path)})
    assert config.database_url == f"sqlite:///{tmp_path / 'intake.sqlite3'}"
    assert config.blob_dir == tmp_path / "blobs"


def test_repr_hides_secrets(tmp_path: Path) -> None:
    config = Config.from_env(
        {"SECRET_KEY": LONG_SECRET, "INTAKE_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://u:pw@db/x"}
    )
    assert LONG_SECRET not in repr(config)
    assert "pw@" not in repr(config)


def test_repr_hides_the_smtp_password(tmp_path: Path) -> None:
    config = Config.from_env(
        {
            "SECRET_KEY": LONG_SECRET,
            "INTAKE_DATA_DIR": str(tmp_path),
            "INTAKE_SMTP_URL": "smtp+starttls://intake:mail-pw@mail.example.org:587",
        }
    )
    assert config.smtp_url == "smtp+starttls://intake:mail-pw@mail.example.org:587"
    assert "mail-pw" not in repr(config)


RATE_LIMIT_SETTINGS = (
    "INTAKE_SUBMIT_RATE_LIMIT",
    "INTAKE_GLOBAL_SUBMIT_RATE_LIMIT",
    "INTAKE_LOGIN_RATE_LIMIT",
    "INTAKE_GLOBAL_CODENAME_RATE_LIMIT",
)


@pytest.mark.parametrize("name", RATE_LIMIT_SETTINGS)
@pytest.mark.parametrize("value", ["banana", "", "20 per fortnight", "per hour"])
def test_a_malformed_rate_limit_stops_the_app_at_start(tmp_path: Path, name: str, value: str) -> None:
    # A limit the limiter cannot parse would silently switch throttling off.
    with pytest.raises(ConfigError, match=name):
        Config.from_env({"SECRET_KEY": LONG_SECRET, "INTAKE_DATA_DIR": str(tmp_path), name: value})


@pytest.mark.parametrize("value", ["5 per minute", "5/minute;100/day", "1000 per 1 hour"])
def test_rate_limits_take_the_limiters_notation(tmp_path: Path, value: str) -> None:
    environ = {"SECRET_KEY": LONG_SECRET, "INTAKE_DATA_DIR": str(tmp_path)}
    config = Config.from_env({**environ, **dict.fromkeys(RATE_LIMIT_SETTINGS, value)})
    assert config.login_rate_limit == config.global_codename_rate_limit == value


def test_the_codename_throttle_has_its_own_setting(tmp_path: Path) -> None:
    environ = {"SECRET_KEY": LONG_SECRET, "INTAKE_DATA_DIR": str(tmp_path)}
    config = Config.from_env({**environ, "INTAKE_GLOBAL_SUBMIT_RATE_LIMIT": "7 per hour"})
    assert config.global_submit_rate_limit == "7 per hour"
    assert config.global_codename_rate_limit == "600 per hour"



GOOD_CHANNELS = {
    "INTAKE_NOTIFY_NTFY_URL": "ntfys://tk_operator_token@ntfy.example.org/{address}",
    "INTAKE_NOTIFY_SIGNAL_URL": "signal://signal-api:8080/+15550001111/{address}",
    "INTAKE_NOTIFY_MATRIX_URL": "matrixs://syt_operator_token@matrix.example.org/{address}",
}


def test_push_channel_templates_are_read_and_kept_out_of_repr(tmp_path: Path) -> None:
    secret_file = tmp_path / "matrix-url"
    secret_file.write_text(GOOD_CHANNELS["INTAKE_NOTIFY_MATRIX_URL"] + "\n")
    environ = {
        "SECRET_KEY": LONG_SECRET,
        "INTAKE_DATA_DIR": str(tmp_path),
        "INTAKE_NOTIFY_NTFY_URL": GOOD_CHANNELS["INTAKE_NOTIFY_NTFY_URL"],
        "INTAKE_NOTIFY_SIGNAL_URL": GOOD_CHANNELS["INTAKE_NOTIFY_SIGNAL_URL"],
        "INTAKE_NOTIFY_MATRIX_URL_FILE": str(secret_file),
    }
    config = Config.from_env(environ)
    assert {kind.value: template for kind, template in config.notify_channels.items()} == {
        "ntfy": GOOD_CHANNELS["INTAKE_NOTIFY_NTFY_URL"],
        "signal": GOOD_CHANNELS["INTAKE_NOTIFY_SIGNAL_URL"],
        "matrix": GOOD_CHANNELS["INTAKE_NOTIFY_MATRIX_URL"],
    }
    assert "operator_token" not in repr(config)
    assert Config.from_env({"SECRET_KEY": LONG_SECRET, "INTAKE_DATA_DIR": str(tmp_path)}).notify_channels == {}


@pytest.mark.parametrize(
    ("variable", "template", "message"),
    [
        # Not a URL Apprise can use, or not this kind's
        ("INTAKE_NOTIFY_NTFY_URL", "ntfys://ntfy.example.org:99999/{address}", "is not a URL"),
        ("INTAKE_NOTIFY_NTFY_URL", "json://hooks.example.org/{address}", "must start with ntfy:// or ntfys://"),
        ("INTAKE_NOTIFY_SIGNAL_URL", "ntfys://ntfy.example.org/{address}", "must start with signal://"),
        ("INTAKE_NOTIFY_MATRIX_URL", "matrixs://matrix.example.org/{address}", "access token"),
        ("INTAKE_NOTIFY_MATRIX_URL", "matrixs://bot:password@matrix.example.org/{address}", "access token"),
        ("INTAKE_NOTIFY_SIGNAL_URL", "signal://signal-api:8080/12/{address}", "not understood by Apprise"),
        # ntfy's cloud by default: the host must be the operator's choice, written out
        ("INTAKE_NOTIFY_NTFY_URL", "ntfy://{address}", "must name the server's host"),
        ("INTAKE_NOTIFY_NTFY_URL", "ntfys://ntfy.example.org/intake", "must hold {address} once"),
        ("INTAKE_NOTIFY_NTFY_URL", "ntfys://ntfy.example.org/{address}/{address}", "must hold {address} once"),
        ("INTAKE_NOTIFY_NTFY_URL", "ntfys://ntfy.example.org/t?tags={address}", "must hold {address} once"),
        # Anything that would make a lawyer's app or the server fetch from elsewhere
        (
            "INTAKE_NOTIFY_NTFY_URL",
            "ntfys://ntfy.example.org/{address}?avatar_url=https://images.example.com/a.png",
            "must not carry a second URL",
        ),
        # Sending to somebody else too, or from the lawyer's own number to itself
        ("INTAKE_NOTIFY_SIGNAL_URL", "signal://signal-api:8080/{address}", "to nothing else"),
        ("INTAKE_NOTIFY_SIGNAL_URL", "signal://signal-api:8080/+15550001111/{address}/+15550002222", "to nothing else"),
        ("INTAKE_NOTIFY_MATRIX_URL", "matrixs://token@matrix.example.org/{address}/%23all:example.org", "to nothing else"),
    ],
)
def test_a_push_channel_template_that_could_misdirect_stops_the_start(
    tmp_path: Path, variable: str, template: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as refused:
        Config.from_env({"SECRET_KEY": LONG_SECRET, "INTAKE_DATA_DIR": str(tmp_path), variable: template})
    assert str(refused.value).startswith(variable)
    assert template not in str(refused.value) and "password@" not in str(refused.value)


def test_only_the_three_apprise_plugins_are_ever_loaded(tmp_path: Path) -> None:
    """Apprise's own URL lookup imports all ~190 of its plugins; Intake imports the three it offers."""
    script = (
        "import json, sys\n"
        "from config import Config\n"
        f"Config.from_env({{'SECRET_KEY': 'x' * 40, 'INTAKE_DATA_DIR': {str(tmp_path)!r}, **{GOOD_CHANNELS!r}}})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('apprise.plugins.'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    plugins = {name.split(".")[2] for name in json.loads(result.stdout)}
    assert plugins == {"base", "ntfy", "signal_api", "matrix"}


@pytest.mark.parametrize("hour", ["24", "6am", "-1"])
def test_a_digest_hour_outside_the_day_stops_the_start(tmp_path: Path, hour: str) -> None:
    with pytest.raises(ConfigError, match="INTAKE_NOTIFY_DIGEST_HOUR must be an hour of the day in UTC"):
        Config.from_env({"SECRET_KEY": LONG_SECRET, "INTAKE_DATA_DIR": str(tmp_path), "INTAKE_NOTIFY_DIGEST_HOUR": hour})
    environ = {"SECRET_KEY": LONG_SECRET, "INTAKE_DATA_DIR": str(tmp_path), "INTAKE_NOTIFY_DIGEST_HOUR": "0"}
    assert Config.from_env(environ).notify_digest_hour == 0
