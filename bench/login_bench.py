"""Lawyer login under production Argon2 costs: every kind of failure takes the same time; zxcvbn's bound."""

from __future__ import annotations

from bench.measure import report, run_snippet

LOGIN = """
import datetime as dt, json, logging, os, statistics, tempfile, time, uuid
logging.disable(logging.INFO)
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from config import Config
from crypto import PRODUCTION_KDF, generate_identity, wrap_secret
from intake import migrate
from intake.models import Role, User, UserStatus
from intake.services import accounts
from intake.services.totp import new_totp_secret, seal_totp_secret

data = tempfile.mkdtemp()
url = f"sqlite:///{data}/bench.sqlite3"
migrate.upgrade(url)
config = Config.from_env({"INTAKE_ENV": "test", "SECRET_KEY": "k" * 48, "INTAKE_DATA_DIR": data, "DATABASE_URL": url})
passphrase = "lantern quarry velvet orbit thistle"

def lawyer(session, email, locked):
    identity, user_id = generate_identity(), uuid.uuid4()
    session.add(User(
        id=user_id, email=email, role=Role.LAWYER, status=UserStatus.VETTED,
        password_hash=accounts.hash_passphrase(PRODUCTION_KDF, passphrase),
        totp_secret_sealed=seal_totp_secret(config.secret_key, user_id, new_totp_secret()),
        public_recipient=identity.recipient,
        wrapped_private_key=wrap_secret(identity.secret, passphrase, f"lawyer:{user_id}".encode()),
        failed_logins=10 if locked else 0,
        locked_until=dt.datetime.now(dt.UTC) + dt.timedelta(days=1) if locked else None,
        created_day=dt.date.today(),
    ))
    session.commit()

with Session(create_engine(url)) as session:
    lawyer(session, "known@example.org", locked=False)
    lawyer(session, "locked@example.org", locked=True)
    attempts = {
        "unknown_email_s": ("nobody@example.org", passphrase),
        "wrong_passphrase_s": ("known@example.org", "not " + passphrase),
        "wrong_code_s": ("known@example.org", passphrase),
        "locked_s": ("locked@example.org", passphrase),
    }
    timings = {name: [] for name in attempts}
    for _ in range(5):
        for name, (email, typed) in attempts.items():
            started = time.perf_counter()
            assert accounts.log_in(session, config, email, typed, "000000") is None
            timings[name].append(time.perf_counter() - started)
    result = {name: statistics.median(values) for name, values in timings.items()}
started = time.perf_counter()
accounts.judge_passphrase("Zq7!" * 256, [])
result["zxcvbn_1024_characters_s"] = time.perf_counter() - started
print(json.dumps(result))
"""


def main() -> None:
    report("lawyer login failures, production Argon2 (median of 5)", run_snippet(LOGIN))


if __name__ == "__main__":
    main()
