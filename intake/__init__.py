"""Intake: encrypted help requests for people at risk."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask
from flask_babel import get_locale
from jinja2 import StrictUndefined

from config import Config, Environment
from intake import db, errors, logs, request_limits, security
from intake.admin import bp as admin_bp
from intake.cli import intake_cli
from intake.extensions import babel, csrf, limiter
from intake.health import bp as health_bp
from intake.i18n import LANGUAGES, select_locale
from intake.lawyer import bp as lawyer_bp
from intake.security import AccessRules
from intake.staff.access import load_staff
from intake.submit import bp as submit_bp

# Long enough for somebody on a slow Tor link to write a long request and
# upload large files: the token is checked when the request starts, but the
# form may have been open for hours before that.
CSRF_TOKEN_LIFETIME = timedelta(hours=12)


def create_app(config: Config) -> Flask:
    app = Flask(__name__, instance_path=str(config.data_dir))
    app.config.update(
        SECRET_KEY=config.secret_key,
        INTAKE=config,
        SESSION_COOKIE_NAME="intake_session" if config.insecure_cookies else "__Host-intake_session",
        SESSION_COOKIE_SECURE=not config.insecure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PATH="/",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        WTF_CSRF_TIME_LIMIT=int(CSRF_TOKEN_LIFETIME.total_seconds()),
        WTF_CSRF_SSL_STRICT=False,
        BABEL_DEFAULT_LOCALE="en",
        # Public catalogue last: Flask-Babel takes the plural rule from the last
        # directory, even one without this language (then English's n != 1),
        # and only the public catalogue is complete for every language.
        BABEL_TRANSLATION_DIRECTORIES="staff_translations;translations",
        RATELIMIT_STORAGE_URI=config.ratelimit_storage_uri,
        RATELIMIT_STRATEGY="moving-window",
        MAX_FORM_MEMORY_SIZE=200_000,
        TEMPLATES_AUTO_RELOAD=not config.is_production,
    )
    # Dates only: next to an event, a time of day could tell when somebody wrote.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s", datefmt="%Y-%m-%d")

    db.init_app(app, config.database_url)
    babel.init_app(app, locale_selector=select_locale)
    request_limits.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    # Templates must never reach configuration or secrets.
    app.jinja_env.globals.pop("config", None)
    if config.environment is Environment.TEST:
        app.jinja_env.undefined = StrictUndefined

    _register_blueprints(app)
    # Request pipeline, in this order: the staff loader joins the cookie with
    # its server half, then the deny-by-default gate reads what it loaded.
    security.init_app(app, _access_rules(), load_staff, config.onion_location, config.staff_port)
    logs.init_app(app)
    errors.init_app(app)
    return app


def _access_rules() -> AccessRules:
    """The only pages reachable without a staff session; everything else is denied by default."""
    return AccessRules(
        public_endpoints=frozenset(
            {"static", "health.healthz", "lawyer.login", "lawyer.enrol", "admin.setup"}
        ),
        public_blueprints=frozenset({"submit"}),
        staff_blueprints=frozenset({"lawyer", "admin"}),
    )


def _register_blueprints(app: Flask) -> None:
    app.register_blueprint(health_bp)
    app.register_blueprint(submit_bp)
    app.register_blueprint(lawyer_bp)
    app.register_blueprint(admin_bp)
    app.cli.add_command(intake_cli)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["organisation_name"] = app.config["INTAKE"].organisation_name
    app.jinja_env.globals["current_locale"] = lambda: str(get_locale() or "en")
