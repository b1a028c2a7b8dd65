"""Credentials: write-only secrets; responses carry only id, name, type and meta."""

from typing import Annotated

from fastapi import APIRouter, Body, Path, status

from backend.app.deps import SessionDep, SettingsDep
from backend.credentials import service
from backend.credentials.crypto import SecretBox
from backend.credentials.schemas import CredentialCreate, CredentialList, CredentialPublic
from backend.engine.format import ID_PATTERN

router = APIRouter(prefix="/credentials", tags=["credentials"])
CredentialId = Annotated[str, Path(pattern=ID_PATTERN)]
CredentialBody = Annotated[CredentialCreate, Body()]


@router.get("")
async def list_credentials(session: SessionDep) -> CredentialList:
    return CredentialList(data=await service.list_credentials(session=session))


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_credential(body: CredentialBody, session: SessionDep,
                            settings: SettingsDep) -> CredentialPublic:
    box = SecretBox(settings.resolved_secret_key)
    return await service.create_credential(session=session, box=box, body=body)


@router.get("/{credential_id}")
async def get_credential(credential_id: CredentialId, session: SessionDep) -> CredentialPublic:
    return service.to_public(await service.get_row(session=session, credential_id=credential_id))


@router.put("/{credential_id}")
async def replace_credential(credential_id: CredentialId, body: CredentialBody,
                             session: SessionDep, settings: SettingsDep) -> CredentialPublic:
    box = SecretBox(settings.resolved_secret_key)
    return await service.replace_credential(session=session, box=box,
                                            credential_id=credential_id, body=body)


@router.delete("/{credential_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_credential(credential_id: CredentialId, session: SessionDep) -> None:
    await service.delete_credential(session=session, credential_id=credential_id)
