"""Credential bodies by type. Secret fields are SecretStr: never echoed, never logged."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr

from backend.engine.format import ID_PATTERN, Strict

HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$"


class CredentialBase(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=200)


class BearerCredential(CredentialBase):
    type: Literal["bearer"]
    token: SecretStr = Field(min_length=1, max_length=8192)


class BasicCredential(CredentialBase):
    type: Literal["basic"]
    username: str = Field(min_length=1, max_length=500)
    password: SecretStr = Field(max_length=8192)


class HeaderCredential(CredentialBase):
    type: Literal["header"]
    header: str = Field(pattern=HEADER_NAME)
    value: SecretStr = Field(min_length=1, max_length=8192)


class QueryCredential(CredentialBase):
    type: Literal["query"]
    param: str = Field(min_length=1, max_length=100)
    value: SecretStr = Field(min_length=1, max_length=8192)


class HmacCredential(CredentialBase):
    """A shared secret for webhook signatures (HMAC-SHA256)."""

    type: Literal["hmac"]
    secret: SecretStr = Field(min_length=16, max_length=8192)


CredentialCreate = Annotated[
    BearerCredential | BasicCredential | HeaderCredential | QueryCredential | HmacCredential,
    Field(discriminator="type"),
]
SECRET_FIELDS = {"bearer": ("token",), "basic": ("password",), "header": ("value",),
                 "query": ("value",), "hmac": ("secret",)}


class CredentialPublic(BaseModel):
    id: str
    name: str
    type: str
    meta: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CredentialList(BaseModel):
    data: list[CredentialPublic]
    next_cursor: str | None = None
