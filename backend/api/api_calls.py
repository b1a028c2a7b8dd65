"""API call definitions."""

from typing import Annotated

from fastapi import APIRouter, Path, status

from backend.api_calls import service
from backend.api_calls.schemas import ApiCallList, ApiCallPublic
from backend.api_calls.try_it import TryRequest, TryResult, try_api_call
from backend.app.deps import SessionDep, SettingsDep
from backend.engine.format import ID_PATTERN, ApiCallSpec

router = APIRouter(prefix="/api-calls", tags=["api calls"])
ApiCallId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get("")
async def list_api_calls(session: SessionDep) -> ApiCallList:
    return ApiCallList(data=await service.list_api_calls(session=session))


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_api_call(spec: ApiCallSpec, session: SessionDep) -> ApiCallPublic:
    return await service.create_api_call(session=session, spec=spec)


@router.get("/{api_call_id}")
async def get_api_call(api_call_id: ApiCallId, session: SessionDep) -> ApiCallPublic:
    return service.to_public(await service.get_row(session=session, api_call_id=api_call_id))


@router.put("/{api_call_id}")
async def update_api_call(api_call_id: ApiCallId, spec: ApiCallSpec,
                          session: SessionDep) -> ApiCallPublic:
    return await service.update_api_call(session=session, api_call_id=api_call_id, spec=spec)


@router.delete("/{api_call_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_api_call(api_call_id: ApiCallId, session: SessionDep) -> None:
    await service.delete_api_call(session=session, api_call_id=api_call_id)


@router.post("/{api_call_id}/try")
async def try_it(api_call_id: ApiCallId, body: TryRequest, session: SessionDep,
                 settings: SettingsDep) -> TryResult:
    """Send the call once with sample arguments, through the worker's checks (destination
    rules, credentials, redaction, size caps); `mock` answers with its mock response."""
    return await try_api_call(session=session, settings=settings, api_call_id=api_call_id,
                              body=body)
