"""Webhook intake: signature check, order id from the body or the Idempotency-Key header.

Signature: `X-Waybill-Timestamp: <unix seconds>` and
`X-Waybill-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, using the
blueprint's `webhook.credential` (an `hmac` credential); 5 minutes of clock tolerance.
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

from backend.config import Settings
from backend.credentials.crypto import SecretBox
from backend.credentials.service import open_secret
from backend.engine.functions import get
from backend.errors import Conflict, Invalid, Unauthorized, WaybillError
from backend.limits import json_problem
from backend.orders.models import Order
from backend.orders.schemas import ORDER_ID_PATTERN
from backend.orders.service import create_order, get_order_row, published_definition

TOLERANCE_S = 300


@dataclass
class Signature:
    timestamp: str | None
    value: str | None


def sign(secret: str, timestamp: str, raw: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, signature: Signature, raw: bytes, now: float | None = None) -> None:
    if not signature.timestamp or not signature.value:
        raise Unauthorized("This webhook needs X-Waybill-Timestamp and X-Waybill-Signature.")
    try:
        age = abs((now or time.time()) - int(signature.timestamp))
    except ValueError as exc:
        raise Unauthorized("X-Waybill-Timestamp is not a unix time.") from exc
    if age > TOLERANCE_S:
        raise Unauthorized("The signature's timestamp is more than 5 minutes off.")
    if not hmac.compare_digest(sign(secret, signature.timestamp, raw), signature.value):
        raise Unauthorized("The signature does not match the body.")


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
                  signature: Signature) -> Order:
    published = await published_definition(session, blueprint_id)
    webhook = published[1].get("webhook") or {}
    if webhook.get("credential"):
        box = SecretBox(settings.resolved_secret_key)
        _, secret = await open_secret(session=session, box=box, credential_id=webhook["credential"])
        verify(secret["secret"], signature, raw)
    body = _parse(raw)
    order_id = _order_id(body, webhook.get("order_id_field"), idempotency_key)
    try:
        return await create_order(session=session, redis=redis, settings=settings,
                                  order_id=order_id, blueprint_id=blueprint_id, payload=body,
                                  published=published)
    except Conflict:
        return await get_order_row(session, order_id)  # a repeated delivery: the same order
