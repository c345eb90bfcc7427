"""A world where submissions can be read: one vetted lawyer and a recovery key."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.submit.helpers import ReadersFixture, create_readers


@pytest.fixture
def readers(db_session: Session) -> ReadersFixture:
    return create_readers(db_session)
