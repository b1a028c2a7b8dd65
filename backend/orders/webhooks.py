"""Webhook intake: who may deliver, the signature check, and the order id (from the body or
the Idempotency-Key header).

Who may deliver:
- a blueprint whose published `webhook.credential` names an `hmac` credential: only signed
  deliveries, always (with or without ADMIN_TOKEN, and the admin token does not replace it);
- otherwise, with ADMIN_TOKEN set: only deliveries carrying `Authorization: Bearer <ADMIN_TOKEN>`;
- otherwise (no ADMIN_TOKEN: local development): anyone.
A refused delivery is a 401 and writes nothing (no order, no job).

Signature: `X-Waybill-Timestamp: <unix seconds>` and
`X-Waybill-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<idempotency key>.<raw body>">`,
where the idempotency key is the `Idempotency-Key` header as sent (empty when there is none),
so a captured delivery cannot be replayed under another key; 5 minutes of clock tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from arq.connections import ArqRedis
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.blueprints import plans
from backend.core.config import Settings
from backend.core.errors import Conflict, Invalid, NotFound, Unauthorized, WaybillError
from backend.credentials.crypto import SecretBox
from backend.credentials.service import open_secret
from backend.engine.functions import get
from backend.orders.models import Order
from backend.orders.schemas import ORDER_ID_PATTERN
from backend.orders.service import create_order, get_order_row
from backend.security.limits import json_problem

TOLERANCE_S = 300
NEEDS_AUTH = ("This webhook needs the admin token as a bearer token (or configure the "
              "blueprint's `webhook.credential` and sign deliveries).")


@dataclass
class Signature:
    timestamp: str | None
    value: str | None


def sign(secret: str, timestamp: str, idempotency_key: str | None, raw: bytes) -> str:
    """`sha256=<hex>` of `"<timestamp>.<idempotency key or empty>.<raw body>"`."""
    message = b".".join([timestamp.encode(), (idempotency_key or "").encode(), raw])
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, signature: Signature, idempotency_key: str | None, raw: bytes,
           now: float | None = None) -> None:
    if not signature.timestamp or not signature.value:
        raise Unauthorized("This webhook needs X-Waybill-Timestamp and X-Waybill-Signature.")
    try:
        age = abs((now or time.time()) - int(signature.timestamp))
    except ValueError as exc:
        raise Unauthorized("X-Waybill-Timestamp is not a unix time.") from exc
    if age > TOLERANCE_S:
        raise Unauthorized("The signature's timestamp is more than 5 minutes off.")
    expected = sign(secret, signature.timestamp, idempotency_key, raw)
    if not hmac.compare_digest(expected.encode(), signature.value.encode()):
        raise Unauthorized("The signature does not match the body and Idempotency-Key.")


def _parse(raw: bytes) -> dict[str, Any]:
    problem = json_problem(raw)
    if problem:
        raise Invalid(f"The JSON body cannot be stored: {problem}.")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WaybillError("The body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise WaybillError("The body must be a JSON object.")
    return body


def _order_id(body: dict[str, Any], field: str | None, header: str | None) -> str:
    value = get(body, field) if field else None
    if value is None or value == "":
        value = header
    if value is None or not str(value).strip():
        where = f"the body's `{field}` or " if field else ""
        raise WaybillError(f"No order id: send {where}an Idempotency-Key header.")
    if not re.fullmatch(ORDER_ID_PATTERN, str(value)):
        raise Invalid(f"{str(value)[:50]!r} is not an order id: letters, digits and _.:@- "
                      "(up to 200, starting with a letter or digit).")
    return str(value)


async def receive(*, session: AsyncSession, redis: ArqRedis | None, settings: Settings,
                  blueprint_id: str, raw: bytes, idempotency_key: str | None,
                  signature: Signature, admin: bool = False) -> Order:
    """`admin`: the delivery carried the admin token as a bearer token. Everything that could
    refuse the delivery is checked before anything is written."""
    trusted = admin or not settings.admin_token
    try:
        published = await plans.latest(session, blueprint_id)
    except (NotFound, Conflict):
        if not trusted:  # do not tell strangers which blueprints exist
            raise Unauthorized(NEEDS_AUTH) from None
        raise
    webhook = published.definition.get("webhook") or {}
    if webhook.get("credential"):
        box = SecretBox(settings.resolved_secret_key)
        _, secret = await open_secret(session=session, box=box, credential_id=webhook["credential"])
        verify(secret["secret"], signature, idempotency_key, raw)
    elif not trusted:
        raise Unauthorized(NEEDS_AUTH)
    body = _parse(raw)
    order_id = _order_id(body, webhook.get("order_id_field"), idempotency_key)
    try:
        return await create_order(session=session, redis=redis, settings=settings,
                                  order_id=order_id, blueprint_id=blueprint_id, payload=body,
                                  published=published)
    except Conflict:
        return await get_order_row(session, order_id)  # a repeated delivery: the same order
