"""Credentials reach the services called, and never the step runs, the order, the API
answers or the database in clear."""

import json

import pytest

from tests.orders.builders import demo_call, linear, node
from tests.orders.conftest import ECHO_LOG

SECRETS = {"bearer": "tok-SECRET-bearer-1234", "header": "hdr-SECRET-5678",
           "query": "qry-SECRET-9012", "basic": "pw-SECRET-3456"}
CREDENTIALS = [
    {"id": "cred-bearer", "name": "b", "type": "bearer", "token": SECRETS["bearer"]},
    {"id": "cred-header", "name": "h", "type": "header", "header": "X-Shop-Token",
     "value": SECRETS["header"]},
    {"id": "cred-query", "name": "q", "type": "query", "param": "api_key",
     "value": SECRETS["query"]},
    {"id": "cred-basic", "name": "u", "type": "basic", "username": "shop",
     "password": SECRETS["basic"]},
]


@pytest.fixture
async def credentials(live_client):
    for body in CREDENTIALS:
        response = await live_client.post("/api/credentials", json=body)
        assert response.status_code == 201, response.text


def allow(*urls):
    return [url.removeprefix("http://") for url in urls]


def leaks(text: str, kinds=("bearer", "header", "query")) -> list[str]:
    return [kind for kind in kinds if SECRETS[kind] in text]


async def everything_stored(live_client, db_rows, order_id) -> str:
    """The order as the API answers it, and every row of every table that holds order data."""
    order = (await live_client.get(f"/api/orders/{order_id}")).text
    rows = [await db_rows(f"SELECT * FROM {table}")
            for table in ("orders", "step_runs", "signals", "credentials")]
    listed = (await live_client.get("/api/credentials")).text
    return order + json.dumps(rows, default=str) + listed


@pytest.mark.usefixtures("credentials")
async def test_credentials_are_sent_but_never_stored(live_client, api_call, published,
                                                     create_order, get_order, run_worker,
                                                     demo_calls, db_rows, demo_url, echo_url):
    middle = []
    for kind in ("bearer", "header", "query"):
        await api_call(demo_call(f"demo-{kind}", "/responses", credential=f"cred-{kind}"))
        await api_call({"id": f"echo-{kind}", "name": kind, "method": "POST",
                        "url": echo_url + "/echo", "query": {"page": "1"},
                        "headers": {"X-Trace": "t-1"}, "credential": f"cred-{kind}",
                        "body": {"hello": "{{ order.id }}"}})
        middle += [node(f"demo_{kind}", "api_call", api_call=f"demo-{kind}",
                        save={f"{kind}_intent": "response.body.intent"}),
                   node(f"echo_{kind}", "api_call", api_call=f"echo-{kind}",
                        save={f"{kind}_path": "response.body.path"})]
    await published(linear("cred-bp", *middle))
    await create_order("o-cred", "cred-bp", {})
    await run_worker(outbound_allow=allow(demo_url, echo_url))
    order = await get_order("o-cred")
    assert order["state"] == "completed", order["error"]

    # the services received them
    demo_query = next(c for c in await demo_calls() if c["idempotency_key"] == "o-cred:demo_query")
    assert demo_query["query"]["api_key"] == SECRETS["query"]
    bearer, header, query = ECHO_LOG
    assert bearer["headers"]["authorization"] == f"Bearer {SECRETS['bearer']}"
    assert header["headers"]["x-shop-token"] == SECRETS["header"]
    assert query["query"] == {"page": "1", "api_key": SECRETS["query"]}

    # the step runs keep the request without them and the echoed answer redacted
    steps = {step["node"]: step for step in order["steps"]}
    assert steps["echo_bearer"]["request"]["headers"] == {"X-Trace": "t-1",
                                                          "Idempotency-Key": "o-cred:echo_bearer"}
    assert steps["echo_bearer"]["request"]["credential"] == "cred-bearer"
    assert steps["echo_query"]["request"]["query"] == {"page": "1"}
    echoed = {kind: steps[f"echo_{kind}"]["response"]["body"] for kind in SECRETS if kind != "basic"}
    assert echoed["bearer"]["headers"]["authorization"] == "Bearer [redacted]"
    assert echoed["header"]["headers"]["x-shop-token"] == "[redacted]"
    assert echoed["query"]["query"]["api_key"] == "[redacted]"
    assert leaks(await everything_stored(live_client, db_rows, "o-cred")) == []


@pytest.mark.usefixtures("credentials")
async def test_a_failed_call_keeps_no_credential(live_client, api_call, published, create_order,
                                                 get_order, run_worker, db_rows):
    await api_call(demo_call("demo-denied", "/responses", credential="cred-query",
                             query={"fail": "always", "fail_status": "401"}))
    await published(linear("denied-bp", node("call", "api_call", api_call="demo-denied")))
    await create_order("o-denied", "denied-bp", {})
    await run_worker()
    order = await get_order("o-denied")
    assert (order["state"], order["error"]["code"]) == ("failed", "http_status")
    assert leaks(await everything_stored(live_client, db_rows, "o-denied")) == []


@pytest.mark.usefixtures("credentials")
async def test_a_basic_credential_echoed_back_is_redacted(live_client, api_call, published,
                                                          create_order, run_worker, db_rows,
                                                          demo_url, echo_url):
    await api_call({"id": "echo-basic", "name": "basic", "url": echo_url + "/echo",
                    "credential": "cred-basic"})
    await published(linear("basic-bp", node("call", "api_call", api_call="echo-basic")))
    await create_order("o-basic", "basic-bp", {})
    await run_worker(outbound_allow=allow(demo_url, echo_url))
    assert ECHO_LOG[0]["headers"]["authorization"].startswith("Basic ")
    encoded = ECHO_LOG[0]["headers"]["authorization"].removeprefix("Basic ")
    stored = await everything_stored(live_client, db_rows, "o-basic")
    assert SECRETS["basic"] not in stored
    assert encoded not in stored


@pytest.mark.usefixtures("credentials")
async def test_a_saved_value_never_holds_a_credential(live_client, api_call, published,
                                                      create_order, get_order, run_worker,
                                                      db_rows, demo_url, echo_url):
    await api_call({"id": "echo-saved", "name": "saved", "url": echo_url + "/echo",
                    "credential": "cred-bearer"})
    await published(linear("saved-bp", node("call", "api_call", api_call="echo-saved",
                                            save={"seen": "response.body.headers"})))
    await create_order("o-saved", "saved-bp", {})
    await run_worker(outbound_allow=allow(demo_url, echo_url))
    assert (await get_order("o-saved"))["state"] == "completed"
    assert leaks(await everything_stored(live_client, db_rows, "o-saved")) == []
