"""The running app's configuration, for code that runs inside a request or CLI command."""

from __future__ import annotations

from flask import current_app

from config import Config


def current_config() -> Config:
    config: Config = current_app.config["INTAKE"]
    return config
