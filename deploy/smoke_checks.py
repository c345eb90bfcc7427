"""Steps of deploy/smoke that need Python: run by the freshly installed venv.

    python smoke_checks.py reset-schema URL SCHEMA
    python smoke_checks.py drop-schema URL SCHEMA
    python smoke_checks.py where-installed PREFIX
    python smoke_checks.py seed STATE_FILE INIT_OUT  (environment: the app's)
    python smoke_checks.py http BASE_URL [--front]   (environment: the app's)
    python smoke_checks.py invalid-request BASE_URL  (gunicorn's own port)
    python smoke_checks.py verify STATE_FILE         (environment: the app's)
    python smoke_checks.py log-is-clean LOG_FILE

Only the standard library and the installed Intake wheel are used; the
working directory must not contain the source tree, so every import comes
from the wheel.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import sys
import urllib.parse
import uuid
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path

# Sent with every request; must never appear in the server's log.
USER_AGENT = "IntakeSmokeAgent/1.0 (canary-ua-7f3c)"
# Typed into the form and the file; must never appear in plaintext at rest.
MESSAGE_CANARY = "smoke-message-canary-" + "c0ffee" * 4
FILE_CANARY = b"smoke-file-canary-" + b"beef" * 8
EXPECTED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def fail(message: str) -> None:
    print(f"smoke: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def ok(message: str) -> None:
    print(f"smoke: ok   {message}")


# --- database housekeeping -----------------------------------------------------


def reset_schema(url: str, schema: str, create: bool = True) -> None:
    from sqlalchemy import create_engine, text

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        fail(f"bad schema name {schema!r}")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        if create:
            connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()


def where_installed(prefix: str) -> None:
    import config
    import config.gunicorn
    import crypto
    import intake
    import migrations

    for module in (config, config.gunicorn, crypto, intake, migrations):
        if not str(Path(module.__file__).resolve()).startswith(str(Path(prefix).resolve())):
            fail(f"{module.__name__} imported from {module.__file__}, not from the fresh venv")
    ok("config, crypto, intake, migrations import from the installed wheel")


# --- seeding: the recovery key from `intake init`, one vetted lawyer -----------


def seed(state_file: str, init_output: str) -> None:
    """Recover the recovery key from `intake init`'s printed shares; add one vetted lawyer."""
    import datetime as dt

    from sqlalchemy.orm import Session

    from config import Config
    from crypto import combine_recovery_shares, generate_identity, identity_from_secret
    from intake.db import make_engine
    from intake.models import LawyerSession, Role, User, UserStatus
    from intake.services.keyring import instance_keys

    config = Config.from_env()
    if not config.is_production:
        fail("the smoke test must run with INTAKE_ENV=production")
    printed = Path(init_output).read_text(encoding="utf-8")
    shares = re.findall(r"^Share \d+ of \d+:\n(.+)$", printed, re.MULTILINE)
    if len(shares) != 3 or "/admin/setup/" not in printed:
        fail("`intake init` did not print 3 shares and an admin setup URL")
    # Any two of the three (threshold 2): the trustees' ceremony in reverse.
    recovery = identity_from_secret(combine_recovery_shares([shares[2], shares[0]]))
    lawyer = generate_identity()
    today = dt.date.today()
    engine = make_engine(config.database_url)
    with Session(engine) as session, session.begin():
        if instance_keys(session).recovery_recipient != recovery.recipient:
            fail("the shares printed by `intake init` do not rebuild the stored recovery key")
        # Only what a submission needs: a vetted lawyer's public key. The
        # login fields hold placeholders; nobody logs in during the smoke test.
        lawyer_id = uuid.uuid4()
        session.add(
            User(
                id=lawyer_id,
                email="smoke-lawyer@example.invalid",
                role=Role.LAWYER,
                status=UserStatus.VETTED,
                password_hash="!smoke-placeholder",
                totp_secret_sealed=b"!",
                public_recipient=lawyer.recipient,
                wrapped_private_key=b"!",
                failed_logins=0,
                created_day=today,
                vetted_day=today,
            )
        )
        # A server half left from before the restart: gunicorn's start must delete it.
        now = dt.datetime.now(dt.UTC)
        session.flush()
        session.add(
            LawyerSession(
                id="smoke-stale-session",
                user_id=lawyer_id,
                sealed_identity=b"!",
                created_at=now,
                last_seen_at=now,
            )
        )
    engine.dispose()
    Path(state_file).write_text(
        json.dumps({"lawyer": lawyer.secret, "recovery": recovery.secret}), encoding="utf-8"
    )
    ok("2 of the 3 shares printed by `intake init` rebuild the recovery key; seeded one vetted lawyer")


# --- HTTP -------------------------------------------------------------------------


class Browser:
    """Enough of Tor Browser for the smoke test: keeps `Secure` cookies over
    plain HTTP, as Tor Browser does for .onion (a secure context)."""

    def __init__(self, base_url: str) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.cookies: dict[str, str] = {}
        self.set_cookie_headers: list[str] = []

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
        all_headers = {"User-Agent": USER_AGENT, "Accept-Language": "en"}
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        all_headers.update(headers or {})
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.set_cookie_headers.append(header)
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        connection.close()
        return response.status, response.headers, data


class FormParser(HTMLParser):
    """Collects forms (fields, defaults, required flags) and same-site links."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.links: list[str] = []
        # Stylesheets, icons, images and scripts the page loads.
        self.assets: list[str] = []
        self.absolute_urls: list[str] = []
        self._form: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        for key in ("href", "src", "action", "formaction"):
            if a.get(key, "").lower().startswith(("http:", "https:", "//")):
                self.absolute_urls.append(a[key])
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if (tag == "link" and "href" in a) or (tag in ("img", "script") and a.get("src", "").startswith("/")):
            self.assets.append(a.get("href") or a["src"])
        if tag == "form":
            self._form = {
                "action": a.get("action", ""),
                "method": a.get("method", "get").lower(),
                "enctype": a.get("enctype", ""),
                "fields": [],
            }
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select"):
            self._form["fields"].append(
                {
                    "tag": tag,
                    "type": a.get("type", "text").lower(),
                    "name": a.get("name", ""),
                    "value": a.get("value", ""),
                    "checked": "checked" in a,
                    "required": "required" in a,
                }
            )
        elif self._form is not None and tag == "option" and self._form["fields"]:
            select = self._form["fields"][-1]
            if select["tag"] == "select" and (not select.get("picked") or "selected" in a):
                select["value"], select["picked"] = a.get("value", ""), True
        elif self._form is not None and tag == "textarea":
            self._textarea = {"tag": "textarea", "type": "textarea", "name": a.get("name", ""), "value": ""}
            self._textarea["required"] = "required" in a
            self._form["fields"].append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None


def parse(html: bytes) -> FormParser:
    parser = FormParser()
    parser.feed(html.decode("utf-8", "replace"))
    return parser


def multipart(fields: list[tuple[str, str]], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = "----smoke" + secrets.token_hex(12)
    out = bytearray()
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, filename, content in files:
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def fill(form: dict) -> tuple[list[tuple[str, str]], list[tuple[str, str, bytes]]]:
    """Answer a form the way a person would: defaults kept, every required
    field given something, the message written, one file attached."""
    fields: list[tuple[str, str]] = []
    files: list[tuple[str, str, bytes]] = []
    radios: dict[str, str] = {}
    for field in form["fields"]:
        name, kind = field["name"], field["type"]
        if not name:
            continue
        if kind == "radio":
            if field["checked"] or name not in radios:
                radios[name] = field["value"]
        elif kind == "checkbox":
            if field["checked"] or field["required"]:
                fields.append((name, field["value"] or "y"))
        elif kind == "file":
            if not files:
                files.append((name, "smoke.txt", FILE_CANARY))
        elif kind in ("submit", "button", "reset", "image"):
            continue
        elif kind == "textarea":
            fields.append((name, MESSAGE_CANARY))
        elif kind == "hidden":
            fields.append((name, field["value"]))
        else:
            fields.append((name, field["value"] or ("smoke" if field["required"] else "")))
    fields.extend(radios.items())
    return fields, files


def find_submission_form(browser: Browser) -> tuple[str, dict] | None:
    """The help-request form: on / or one same-site link away from it."""
    seen: set[str] = set()
    queue = ["/"]
    while queue and len(seen) < 15:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        status, _headers, body = browser.request("GET", path)
        if status != 200:
            continue
        page = parse(body)
        for form in page.forms:
            kinds = {field["type"] for field in form["fields"]}
            if form["method"] == "post" and "textarea" in kinds and "file" in kinds:
                return path, form
        if path == "/":
            for link in page.links:
                target = urllib.parse.urljoin("/", link)
                parts = urllib.parse.urlsplit(target)
                if not parts.netloc and parts.path and not parts.query and parts.path not in seen:
                    queue.append(parts.path)
    return None


def http_checks(base_url: str, through_front: bool) -> None:
    """A visit and a help request with a file; `through_front`: BASE_URL is the front server (nginx)."""
    browser = Browser(base_url)

    status, headers, body = browser.request("GET", "/healthz")
    if (status, body) != (200, b"ok\n"):
        fail(f"/healthz answered {status} {body[:40]!r}")
    ok("/healthz answers 200 ok")

    status, headers, body = browser.request("GET", "/")
    if status != 200:
        fail(f"GET / answered {status}")
    for name, expected in EXPECTED_HEADERS.items():
        if headers.get(name) != expected:
            fail(f"GET / header {name} is {headers.get(name)!r}, expected {expected!r}")
    csp = headers.get("Content-Security-Policy", "")
    for directive in ("default-src 'self'", "frame-ancestors 'none'", "form-action 'self'"):
        if directive not in csp:
            fail(f"Content-Security-Policy lacks {directive!r}: {csp!r}")
    if "Onion-Location" in headers and not os.environ.get("INTAKE_ONION_LOCATION"):
        fail("Onion-Location sent although INTAKE_ONION_LOCATION is not set")
    page = parse(body)
    if page.absolute_urls:
        fail(f"GET / contains absolute URLs: {page.absolute_urls[:5]}")
    ok("GET / has the security headers, no Onion-Location, no absolute URLs")
    if through_front:
        if headers.get("Server") != "nginx":
            fail(f"GET / was not answered through the front server: Server {headers.get('Server')!r}")
        ok("answered through the front server (Server: nginx, no version)")

    # Static files ship inside the wheel (package-data), not from the source tree.
    request_page = parse(browser.request("GET", "/request")[2])
    assets = sorted(set(page.assets + request_page.assets))
    for asset in assets:
        status, headers, _body = browser.request("GET", asset)
        if status != 200:
            fail(f"{asset} answered {status} (missing from the wheel's package data?)")
        if "immutable" not in str(headers.get("Cache-Control", "")):
            fail(f"{asset} is not cached for good: Cache-Control {headers.get('Cache-Control')!r}")
    if not any(asset.split("?")[0].endswith(".css") for asset in assets):
        fail(f"no stylesheet found among the page's assets: {assets}")
    ok(f"every asset the pages load is served from the installed package, immutable ({len(assets)})")

    # The compiled catalogues are in the wheel and used: Russian via Accept-Language.
    status, headers, body = Browser(base_url).request("GET", "/", headers={"Accept-Language": "ru"})
    text = body.decode("utf-8", "replace")
    if status != 200 or '<html lang="ru"' not in text or not re.search("[а-яА-Я]{4,}", text):
        fail("GET / with Accept-Language: ru is not in Russian (catalogues missing from the wheel?)")
    ok("GET / is translated (Accept-Language: ru)")

    found = find_submission_form(browser)
    if found is None:
        fail("no help-request form (POST, textarea, file input) on / or one link away")
    form_path, form = found
    for header in browser.set_cookie_headers:
        name = header.split("=", 1)[0]
        lowered = header.lower()
        if not name.startswith("__Host-") or "secure" not in lowered or "httponly" not in lowered:
            fail(f"cookie is not __Host-, Secure and HttpOnly in production: {name}")
        if "samesite=strict" not in lowered and "samesite=lax" not in lowered:
            fail(f"cookie {name} has no SameSite")
    ok(f"found the form on {form_path}; cookies are __Host-, Secure, HttpOnly, SameSite")

    fields, files = fill(form)
    action = urllib.parse.urljoin(form_path, form["action"] or form_path)
    if urllib.parse.urlsplit(action).netloc:
        fail(f"form action is an absolute URL: {action}")
    payload, content_type = multipart(fields, files)
    status, headers, body = browser.request("POST", action, body=payload, headers={"Content-Type": content_type})
    if status in (301, 302, 303):
        location = headers.get("Location", "")
        if urllib.parse.urlsplit(location).netloc:
            fail(f"redirect to an absolute URL after submitting: {location}")
        status, headers, body = browser.request("GET", urllib.parse.urljoin(action, location))
    if status != 200:
        fail(f"submitting the form answered {status}: {body[:300]!r}")
    if MESSAGE_CANARY.encode() in body:
        fail("the receipt page echoes the submitted message")
    ok(f"submitted a help request with one file to {action} ({len(payload)} bytes)")


def invalid_request(base_url: str) -> None:
    """Gunicorn's own error path, which by default logs the peer address (log-is-clean reads it).

    Sent to gunicorn itself: a front server would refuse it without passing it on.
    """
    import socket

    parsed = urllib.parse.urlsplit(base_url)
    with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 80), timeout=10) as raw:
        raw.sendall(b"GET /not a valid request line HTTP/1.1\r\nHost: smoke\r\n\r\n")
        with contextlib.suppress(OSError):
            raw.recv(4096)


# --- at rest ------------------------------------------------------------------------


def verify(state_file: str) -> None:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from config import Config
    from crypto import decrypt_stream_padded
    from intake.db import make_engine
    from intake.models import Attachment, Case, Item, LawyerSession, Source
    from intake.services.items import open_item

    keys = json.loads(Path(state_file).read_text(encoding="utf-8"))
    config = Config.from_env()
    engine = make_engine(config.database_url)
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(LawyerSession)):
            fail("a staff session from before gunicorn started survived the start")
        ok("gunicorn's start ended the staff session left from before (restart policy)")
        cases = session.scalar(select(func.count()).select_from(Case))
        sources = session.scalar(select(func.count()).select_from(Source))
        items = list(session.scalars(select(Item)))
        attachments = list(session.scalars(select(Attachment)))
        if (cases, sources, len(items)) != (1, 1, 1):
            fail(f"expected 1 case, 1 source, 1 item; found {cases}, {sources}, {len(items)}")
        ciphertext = items[0].ciphertext
        if not ciphertext.startswith(b"age-encryption.org/v1\n"):
            fail("the item is not an age ciphertext")
        if MESSAGE_CANARY.encode() in ciphertext:
            fail("the message is stored in plaintext")
        for who in ("lawyer", "recovery"):
            payload = open_item(ciphertext, [keys[who]])
            if MESSAGE_CANARY not in payload.message and MESSAGE_CANARY not in payload.fields.values():
                fail(f"the {who} key decrypts the item but the message is not in it")
        ok("the item is age ciphertext; the lawyer's and the recovery key both decrypt it")
        if len(attachments) != 1:
            fail(f"expected 1 attachment row, found {len(attachments)}")
        blob_files = [path for path in config.blob_dir.rglob("*.age")]
        if len(blob_files) != 1:
            fail(f"expected 1 blob file, found {len(blob_files)}")
        raw = blob_files[0].read_bytes()
        if not raw.startswith(b"age-encryption.org/v1\n") or FILE_CANARY in raw:
            fail("the attachment is not age ciphertext")
        for who in ("lawyer", "recovery"):
            import io

            out = io.BytesIO()
            with blob_files[0].open("rb") as handle:
                decrypt_stream_padded(handle, out, [keys[who]])
            if out.getvalue() != FILE_CANARY:
                fail(f"the attachment does not decrypt to the uploaded file with the {who} key")
        ok("the attachment is one age file in the blob directory; both keys decrypt it")
    engine.dispose()
    for path in config.data_dir.rglob("*"):
        if path.is_file() and (FILE_CANARY in path.read_bytes() or MESSAGE_CANARY.encode() in path.read_bytes()):
            fail(f"plaintext found at rest in {path}")
    ok("no plaintext anywhere under the data directory")


def log_is_clean(log_file: str) -> None:
    text = Path(log_file).read_text(encoding="utf-8", errors="replace")
    for needle, what in (
        ("127.0.0.1", "a client IP address"),
        ("IntakeSmokeAgent", "the user agent"),
        ("canary-ua", "the user agent"),
        (MESSAGE_CANARY, "the message"),
        (FILE_CANARY.decode(), "the file"),
    ):
        if needle in text:
            line = next(line for line in text.splitlines() if needle in line)
            fail(f"the server log contains {what}: {line[:200]}")
    if "Invalid request from ip=[address]" not in text:
        fail("gunicorn did not log the invalid request with its address redacted")
    ok("server log: no addresses, user agents or contents (gunicorn's own address redacted)")


def main(argv: list[str]) -> None:
    command, *args = argv
    if command == "reset-schema":
        reset_schema(args[0], args[1])
    elif command == "drop-schema":
        reset_schema(args[0], args[1], create=False)
    elif command == "where-installed":
        where_installed(args[0])
    elif command == "seed":
        seed(args[0], args[1])
    elif command == "http":
        http_checks(args[0], through_front=args[1:] == ["--front"])
    elif command == "invalid-request":
        invalid_request(args[0])
    elif command == "verify":
        verify(args[0])
    elif command == "log-is-clean":
        log_is_clean(args[0])
    else:
        fail(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv[1:])
