"""Fixtures for the crypto tests: fresh identities and the real age CLI."""

import shutil
from pathlib import Path

import pytest

from crypto import Identity, generate_identity


@pytest.fixture
def identity() -> Identity:
    return generate_identity()


@pytest.fixture
def other_identity() -> Identity:
    return generate_identity()


def _required_tool(name: str) -> Path:
    found = shutil.which(name)
    if found is None:
        # Interop is the point of these tests: a machine without age must fail them.
        pytest.fail(f"`{name}` is not installed (Debian package `age`); `make test` installs it")
    return Path(found)


@pytest.fixture(scope="session")
def age_cli() -> Path:
    return _required_tool("age")


@pytest.fixture(scope="session")
def age_keygen_cli() -> Path:
    return _required_tool("age-keygen")
