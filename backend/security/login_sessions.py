"""Login sessions: one row per login, so that logging out ends a session on the server.

The cookie carries a random token (and a signature, see `backend.security.auth`); the row
keeps only the SHA-256 of that token, so a copy of the database gives no working cookie.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from backend.core.db import UTCDateTime, utcnow


class LoginSession(SQLModel, table=True):
    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_expires_at", "expires_at"),)

    token_hash: str = Field(primary_key=True, max_length=64, description="SHA-256 hex of the token")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
