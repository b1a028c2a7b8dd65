"""Credentials: sealed on write, opened only by the executor, never returned."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.api_calls.models import ApiCall
from backend.blueprints.models import Blueprint
from backend.core.db import insert_new, utcnow
from backend.core.errors import Conflict, Invalid, NotFound
from backend.credentials.crypto import SecretBox
from backend.credentials.models import Credential
from backend.credentials.schemas import SECRET_FIELDS, CredentialCreate, CredentialPublic


def to_public(row: Credential) -> CredentialPublic:
    return CredentialPublic.model_validate(row, from_attributes=True)


def _split(body: CredentialCreate) -> tuple[dict[str, Any], dict[str, Any]]:
    """(non-secret meta, secret values) of a credential body."""
    secret_names = SECRET_FIELDS[body.type]
    data = body.model_dump(exclude={"id", "name", "type"})
    secrets = {name: getattr(body, name).get_secret_value() for name in secret_names}
    meta = {key: value for key, value in data.items() if key not in secret_names}
    return meta, secrets


async def list_credentials(*, session: AsyncSession) -> list[CredentialPublic]:
    """Every credential, without its secret."""
    rows = await session.exec(select(Credential).order_by(col(Credential.id)))
    return [to_public(row) for row in rows]


async def get_row(*, session: AsyncSession, credential_id: str) -> Credential:
    row = await session.get(Credential, credential_id)
    if row is None:
        raise NotFound(f"No credential with id {credential_id!r}.")
    return row


async def create_credential(*, session: AsyncSession, box: SecretBox,
                            body: CredentialCreate) -> CredentialPublic:
    """Seal and store a new credential."""
    meta, secrets = _split(body)
    row = Credential(id=body.id, name=body.name, type=body.type, meta=meta,
                     secret=box.seal(secrets))
    await insert_new(session, row, f"A credential with id {body.id!r}")
    return to_public(row)


async def replace_credential(*, session: AsyncSession, box: SecretBox, credential_id: str,
                             body: CredentialCreate) -> CredentialPublic:
    """Rotate a credential's secret (and name or type) in place."""
    if body.id != credential_id:
        raise Invalid("The body's id must match the path.")
    row = await get_row(session=session, credential_id=credential_id)
    meta, secrets = _split(body)
    row.name, row.type, row.meta, row.secret = body.name, body.type, meta, box.seal(secrets)
    row.updated_at = utcnow()
    await session.commit()
    return to_public(row)


async def delete_credential(*, session: AsyncSession, credential_id: str) -> None:
    """Delete a credential no API call refers to."""
    row = await get_row(session=session, credential_id=credential_id)
    users = [
        call.id for call in await session.exec(select(ApiCall))
        if call.definition.get("credential") == credential_id
    ]
    users += [f"blueprint {blueprint.id} (webhook)" for blueprint in await session.exec(select(Blueprint))
              if (blueprint.draft.get("webhook") or {}).get("credential") == credential_id]
    if users:
        raise Conflict(f"Credential {credential_id!r} is used by: {', '.join(users)}.")
    await session.delete(row)
    await session.commit()


async def open_secret(*, session: AsyncSession, box: SecretBox,
                      credential_id: str) -> tuple[Credential, dict[str, Any]]:
    """The credential row and its opened secret values (executor use only)."""
    row = await get_row(session=session, credential_id=credential_id)
    return row, box.open(row.secret)
