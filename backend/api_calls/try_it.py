"""Try an API call from the UI with sample arguments.

The request goes through exactly what a worker uses (`orders.executor.Executor` over
`orders.outbound.HttpCaller`): the same templates, credential application, destination checks
(private addresses refused unless allow-listed, on every redirect), size caps and redaction.
What comes back is what a step run would record: secrets never appear in it.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.api_calls.service import get_row, spec_of
from backend.core.config import Settings
from backend.core.errors import NotFound
from backend.credentials.crypto import SecretBox
from backend.credentials.service import open_secret
from backend.engine.errors import StepError
from backend.engine.expressions import ExpressionError
from backend.engine.format import ApiCallSpec, Node, Strict
from backend.orders.executor import CredentialValue, Executor
from backend.orders.outbound import make_caller
from backend.variables.service import as_scope

TRY_NODE = "try_it"
log = logging.getLogger(__name__)


class TryRequest(Strict):
    args: dict[str, Any] = Field(default_factory=dict, description="the node's `args`, evaluated")
    input: dict[str, Any] = Field(default_factory=dict)
    vars: dict[str, Any] = Field(default_factory=dict)
    mock: bool = Field(default=False, description="answer with the API call's mock response")


class TryResult(BaseModel):
    ok: bool
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


async def _credentials(session: AsyncSession, settings: Settings,
                       spec: ApiCallSpec) -> dict[str, CredentialValue]:
    if not spec.credential:
        return {}
    try:
        row, secret = await open_secret(session=session, credential_id=spec.credential,
                                        box=SecretBox(settings.resolved_secret_key))
    except NotFound:
        return {}  # the executor answers `unknown_credential`
    return {row.id: CredentialValue(row.type, row.meta, secret)}


def _scope(body: TryRequest, variables: dict[str, Any]) -> dict[str, Any]:
    order = {"id": f"try-{uuid.uuid4().hex[:12]}", "blueprint": None, "version": None}
    return {"input": body.input, "vars": body.vars, "order": order, "variables": variables}


async def try_api_call(*, session: AsyncSession, settings: Settings, api_call_id: str,
                       body: TryRequest) -> TryResult:
    """Send the stored API call once (no retries) and answer what a step would record."""
    spec = spec_of(await get_row(session=session, api_call_id=api_call_id))
    credentials = await _credentials(session, settings, spec)
    scope = _scope(body, await as_scope(session=session))
    node = Node(id=TRY_NODE, type="api_call", api_call=spec.id)
    async with make_caller(transport=settings.http_transport, allow=settings.outbound_allow,
                           max_response_bytes=settings.max_response_bytes) as caller:
        executor = Executor(caller, {spec.id: spec}, credentials, mock=body.mock,
                            stored_response_bytes=settings.stored_response_bytes)
        try:
            result = await executor.call_api(spec.id, body.args, scope, node)
        except StepError as exc:
            error = exc.as_dict()
            details = error.pop("details", {})
            return TryResult(ok=False, request=details.get("request"),
                             response=details.get("response"), error=error)
        except ExpressionError as exc:
            return TryResult(ok=False, error={"code": "expression", "message": str(exc),
                                              "transient": False})
        except Exception as exc:  # what a step would record as `step_crashed`, never a 500
            log.exception("try-it of %s crashed", spec.id)
            return TryResult(ok=False, error={"code": "step_crashed", "transient": False,
                                              "message": f"{type(exc).__name__}: {exc}"[:1000]})
    return TryResult(ok=True, request=result.request, response=result.stored)
