"""The hot-path writes of an activation, as constant Core statements (compiled once), each a
function of a synchronous connection for the group writer (`backend.core.writer`).

ORM-enabled DML costs several times more CPU per statement than Core; these run for every
step of every order, so they are written against the tables directly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, or_
from sqlalchemy.engine import Connection

from backend.core.meta import config_generation
from backend.orders.models import (
    ACTIVE_STATES,
    HOLDING_STATES,
    Order,
    OrderState,
    Signal,
    StepRun,
)

ORDERS = Order.__table__  # type: ignore[attr-defined]
STEPS = StepRun.__table__  # type: ignore[attr-defined]
SIGNALS = Signal.__table__  # type: ignore[attr-defined]
_ACTIVE = ORDERS.c.state.in_(sorted(ACTIVE_STATES))

# a pending order shows as running from the moment a worker holds it; a queued one waits for
# its concurrency key's slot (`backend.orders.concurrency`)
LEASE = ORDERS.update().where(
    ORDERS.c.id == bindparam("b_pk"), ORDERS.c.state.in_(sorted(HOLDING_STATES)),
    or_(ORDERS.c.lease_until.is_(None), ORDERS.c.lease_until < bindparam("b_now"))).values(
    state=case((ORDERS.c.state == OrderState.pending, OrderState.running.value),
               else_=ORDERS.c.state)).returning(*ORDERS.c)
OWNED = ORDERS.update().where(and_(
    ORDERS.c.id == bindparam("b_pk"), ORDERS.c.lease_owner == bindparam("b_token")))
OWNED_ACTIVE = OWNED.where(_ACTIVE)
INSERT_STEP = STEPS.insert()
CONSUME_SIGNAL = SIGNALS.update().where(SIGNALS.c.id == bindparam("b_id"))


def lease(connection: Connection, order_pk: int, token: str, now: datetime,
          until: datetime) -> tuple[Order | None, int]:
    """Take the order if it is active and no live lease holds it: the order as taken (None
    when it was not), and the generation of the configuration (`core.meta`) as of then."""
    result = connection.execute(LEASE, {"b_pk": order_pk, "b_now": now, "lease_owner": token,
                                        "lease_until": until})
    row = result.first()
    return (Order(**row._mapping) if row else None), config_generation(connection)


def renew(connection: Connection, order_pk: int, token: str, until: datetime) -> bool:
    """Extend our lease while a step runs; False once the order is no longer ours."""
    result = connection.execute(OWNED_ACTIVE, {"b_pk": order_pk, "b_token": token,
                                               "lease_until": until})
    return result.rowcount == 1


def release(connection: Connection, order_pk: int, token: str) -> None:
    connection.execute(OWNED, {"b_pk": order_pk, "b_token": token, "lease_owner": None,
                               "lease_until": None})


def checkpoint(connection: Connection, order_pk: int, token: str, changes: dict[str, Any],
               step_runs: list[dict[str, Any]], signal_id: int | None) -> bool:
    """The order's new state and its step runs (none for a poll not worth a timeline line);
    the order only if we still own it."""
    result = connection.execute(OWNED_ACTIVE, {"b_pk": order_pk, "b_token": token, **changes})
    if step_runs:
        connection.execute(INSERT_STEP, step_runs)
    if signal_id is not None and result.rowcount == 1:
        connection.execute(CONSUME_SIGNAL, {"b_id": signal_id,
                                            "consumed_at": changes["updated_at"]})
    return result.rowcount == 1
