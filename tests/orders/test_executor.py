"""The executor (the walker's real ports): requests built from API call templates, credentials
applied but never recorded, responses redacted and capped, mocks. HTTP goes to a
`httpx.MockTransport`."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from backend.engine.errors import PermanentStepError, TransientStepError
from backend.engine.format import ApiCallSpec, Node, RetryPolicy
from backend.orders.executor import CredentialValue, Executor
from backend.orders.outbound import HttpCaller, OutboundPolicy

BASE = "http://93.184.216.34"
SCOPE = {"input": {"sku": "MUG", "qty": 2}, "vars": {"ret": "ret_1", "token": "t-1"},
         "order": {"id": "o-7", "blueprint": "bp", "version": 1},
         "variables": {"base": BASE}}
CREDENTIALS = {
    "bearer": CredentialValue("bearer", {}, {"token": "tok-SECRET-1"}),
    "basic": CredentialValue("basic", {"username": "shop"}, {"password": "pw-SECRET-2"}),
    "header": CredentialValue("header", {"header": "X-Shop-Key"}, {"value": "hdr-SECRET-3"}),
    "query": CredentialValue("query", {"param": "api_key"}, {"value": "qry-SECRET-4"}),
}


class Server:
    """Answers every request with `reply(request)` and records them."""

    def __init__(self, reply=None) -> None:
        self.reply = reply or (lambda request: httpx.Response(200, json={"ok": True}))
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.reply(request)


def spec(**fields: Any) -> ApiCallSpec:
    return ApiCallSpec.model_validate({"id": "c", "name": "c", "url": BASE + "/x"} | fields)


def executor(server: Server | None, *specs: ApiCallSpec, mock: bool = False,
             stored_bytes: int = 16_384) -> Executor:
    caller = None
    if server is not None:
        client = httpx.AsyncClient(transport=httpx.MockTransport(server))
        caller = HttpCaller(client, OutboundPolicy([]), 1_000_000)
    return Executor(caller, {item.id: item for item in specs}, CREDENTIALS, mock=mock,
                    stored_response_bytes=stored_bytes)


async def call(ex: Executor, api_call_id: str = "c", args: dict | None = None,
               node_id: str = "step"):
    return await ex.call_api(api_call_id, args or {}, SCOPE,
                             Node(id=node_id, type="api_call", api_call=api_call_id))


async def test_a_request_is_built_from_the_templates():
    server = Server()
    the_spec = spec(method="POST", url="{{ variables.base }}/returns/{{ args.ret }}",
                    headers={"X-Order": "{{ order.id }}", "X-Qty": "{{ input.qty }}"},
                    query={"sku": "{{ input.sku }}", "note": "n-{{ args.n }}"},
                    body={"qty": "{{ input.qty }}", "text": "{{ input.qty }} x {{ input.sku }}",
                          "items": ["{{ args.ret }}", 3], "none": None})
    result = await call(executor(server, the_spec), args={"ret": "ret_9", "n": 1})
    sent = server.seen[0]
    assert (sent.method, sent.url.path) == ("POST", "/returns/ret_9")
    assert dict(sent.url.params) == {"sku": "MUG", "note": "n-1"}
    assert (sent.headers["x-order"], sent.headers["x-qty"]) == ("o-7", "2")
    assert sent.headers["idempotency-key"] == "o-7:step"
    assert json.loads(sent.content) == {"qty": 2, "text": "2 x MUG", "items": ["ret_9", 3],
                                        "none": None}
    assert result.request == {
        "method": "POST", "url": f"{BASE}/returns/ret_9", "query": {"sku": "MUG", "note": "n-1"},
        "headers": {"X-Order": "o-7", "X-Qty": "2", "Idempotency-Key": "o-7:step"},
        "body": {"qty": 2, "text": "2 x MUG", "items": ["ret_9", 3], "none": None},
        "credential": None, "elapsed_ms": result.request["elapsed_ms"]}
    assert result.response["status"] == 200 and result.response["body"] == {"ok": True}


async def test_a_string_body_is_sent_as_text_and_a_custom_idempotency_key_is_used():
    server = Server()
    the_spec = spec(method="PUT", body="sku={{ input.sku }}",
                    idempotency_key="{{ order.blueprint }}/{{ order.id }}/{{ node.id }}")
    await call(executor(server, the_spec), node_id="put_it")
    assert server.seen[0].content == b"sku=MUG"
    assert server.seen[0].headers["idempotency-key"] == "bp/o-7/put_it"


async def test_values_from_responses_are_data_not_templates():
    server = Server()
    the_spec = spec(method="POST", url=BASE + "/x/{{ args.x }}", headers={"X-V": "{{ args.x }}"},
                    body={"v": "{{ args.x }}", "t": "say {{ args.x }}"})
    await call(executor(server, the_spec), args={"x": "{{ 7 * 7 }}"})
    sent = server.seen[0]
    assert json.loads(sent.content) == {"v": "{{ 7 * 7 }}", "t": "say {{ 7 * 7 }}"}
    assert sent.headers["x-v"] == "{{ 7 * 7 }}"
    assert "49" not in str(sent.url)


async def test_a_query_in_the_url_is_kept_beside_the_query_map():
    server = Server()
    await call(executor(server, spec(url=BASE + "/x?page=2", query={"size": "10"})))
    assert dict(server.seen[0].url.params) == {"page": "2", "size": "10"}


@pytest.mark.parametrize(("kind", "check"), [
    ("bearer", lambda r: r.headers["authorization"] == "Bearer tok-SECRET-1"),
    ("basic", lambda r: r.headers["authorization"] == "Basic " + base64.b64encode(
        b"shop:pw-SECRET-2").decode()),
    ("header", lambda r: r.headers["x-shop-key"] == "hdr-SECRET-3"),
    ("query", lambda r: r.url.params["api_key"] == "qry-SECRET-4"),
])
async def test_credentials_are_applied_but_not_recorded(kind, check):
    server = Server(lambda request: httpx.Response(200, json={
        "seen": dict(request.headers), "query": dict(request.url.params)}))
    the_spec = spec(credential=kind, headers={"X-Other": "1"}, query={"page": "1"})
    result = await call(executor(server, the_spec))
    assert check(server.seen[0])
    assert result.request["headers"] == {"X-Other": "1", "Idempotency-Key": "o-7:step"}
    assert result.request["query"] == {"page": "1"}
    assert result.request["credential"] == kind
    secret = next(iter(CREDENTIALS[kind].secret.values()))
    assert secret not in json.dumps(result.request)
    assert secret not in json.dumps(result.stored)


async def test_a_secret_echoed_back_is_redacted_in_history():
    server = Server(lambda request: httpx.Response(
        200, json={"auth": request.headers["authorization"], "nested": ["tok-SECRET-1"]},
        headers={"X-Echo": "tok-SECRET-1"}))
    result = await call(executor(server, spec(credential="bearer")))
    assert result.stored["body"] == {"auth": "Bearer [redacted]", "nested": ["[redacted]"]}
    assert result.stored["headers"]["x-echo"] == "[redacted]"


async def test_sensitive_headers_written_in_the_call_are_redacted():
    the_spec = spec(headers={"Authorization": "Bearer {{ vars.token }}", "Cookie": "s=1",
                             "X-Api-Key": "k", "Proxy-Authorization": "p", "X-Fine": "ok"})
    server = Server()
    result = await call(executor(server, the_spec))
    assert server.seen[0].headers["authorization"] == "Bearer t-1"
    assert result.request["headers"] == {
        "Authorization": "[redacted]", "Cookie": "[redacted]", "X-Api-Key": "[redacted]",
        "Proxy-Authorization": "[redacted]", "X-Fine": "ok", "Idempotency-Key": "o-7:step"}


async def test_a_large_response_is_capped_in_history_not_for_save():
    body = {"rows": ["x" * 100] * 50}
    server = Server(lambda request: httpx.Response(200, json=body))
    result = await call(executor(server, spec(), stored_bytes=1000))
    assert result.response["body"] == body
    stored = result.stored["body"]
    assert (stored["truncated"], stored["bytes"]) == (True, len(json.dumps(body)))
    assert stored["preview"] == json.dumps(body)[:1000]
    assert result.stored["status"] == 200


async def test_a_failing_status_raises_with_the_redacted_exchange():
    server = Server(lambda request: httpx.Response(
        503, json={"echo": "qry-SECRET-4"}, headers={"Retry-After": "2"}))
    with pytest.raises(TransientStepError) as caught:
        await call(executor(server, spec(credential="query")))
    error = caught.value
    assert (error.code, error.retry_after) == ("http_status", 2.0)
    assert error.details["response"]["body"] == {"echo": "[redacted]"}
    assert error.details["request"]["query"] == {}
    assert "qry-SECRET-4" not in json.dumps(error.as_dict())


async def test_success_status_is_per_call():
    server = Server(lambda request: httpx.Response(202))
    with pytest.raises(PermanentStepError):
        await call(executor(server, spec(success_status=[200])))
    result = await call(executor(server, spec(success_status=[202])))
    assert (result.response["status"], result.response["body"]) == (202, "")


async def test_mocked_calls_answer_the_mock_without_http():
    the_spec = spec(credential="missing", mock={"status": 201, "body": {"id": "m-1"}})
    result = await call(executor(None, the_spec, mock=True))
    assert result.response == {"status": 201, "headers": {}, "body": {"id": "m-1"}}
    assert result.request["mocked"] is True
    failing = spec(mock={"status": 500, "body": {}})
    with pytest.raises(TransientStepError):
        await call(executor(None, failing, mock=True))
    with pytest.raises(PermanentStepError) as caught:
        await call(executor(None, spec(), mock=True))
    assert caught.value.code == "no_mock"


@pytest.mark.parametrize(("the_spec", "code"), [
    (spec(credential="missing"), "unknown_credential"),
    (spec(url="{{ variables.base }}:notaport/x"), "bad_url"),
])
async def test_requests_that_cannot_be_built_fail_permanently(the_spec, code):
    server = Server()
    with pytest.raises(PermanentStepError) as caught:
        await call(executor(server, the_spec))
    assert caught.value.code == code
    assert server.seen == []


async def test_unknown_calls_functions_and_policies():
    ex = executor(Server(), spec(retry={"max_attempts": 7}))
    with pytest.raises(PermanentStepError) as caught:
        await call(ex, "nope")
    assert caught.value.code == "unknown_api_call"
    with pytest.raises(PermanentStepError):
        ex.function("no_such_function")
    assert ex.function("first")([3, 4]) == 3
    assert ex.retry_policy("c").max_attempts == 7
    assert ex.retry_policy("nope") == RetryPolicy(max_attempts=1)
    without_http = executor(None, spec())
    with pytest.raises(PermanentStepError) as caught:
        await call(without_http)
    assert caught.value.code == "no_http"


async def test_a_refused_destination_sends_nothing():
    server = Server()
    with pytest.raises(PermanentStepError) as caught:
        await call(executor(server, spec(url="http://169.254.169.254/latest/meta-data")))
    assert caught.value.code == "destination_refused"
    assert server.seen == []


ODD_SECRET = "SEK RET+q&é"


@pytest.mark.parametrize("echoed", [
    ODD_SECRET, "SEK%20RET%2Bq%26%C3%A9", "SEK+RET%2bq%26%c3%a9", "SEK RET%2Bq&%C3%A9",
    json.dumps(ODD_SECRET)[1:-1],  # JSON-escaped inside a text body
])
def test_a_secret_is_redacted_in_any_mix_of_encodings(echoed):
    credential = CredentialValue("query", {"param": "k"}, {"value": ODD_SECRET})
    redacted = credential.redact({"body": {"url": f"/x?k={echoed}&n=1", echoed: [echoed]}})
    assert redacted == {"body": {"url": "/x?k=[redacted]&n=1", "[redacted]": ["[redacted]"]}}


@pytest.mark.parametrize("value", ["a\r\nX-Evil: 1", "a\nb", "a\rb", "a\x00b", "a\x7f"])
async def test_a_header_value_with_a_control_character_is_a_permanent_error(value):
    server = Server()
    ex = executor(server, spec(headers={"X-Name": "{{ input.name }}"}))
    with pytest.raises(PermanentStepError) as caught:
        await ex.call_api("c", {}, SCOPE | {"input": {"name": value}},
                          Node(id="step", type="api_call", api_call="c"))
    assert caught.value.code == "bad_header"
    assert server.seen == []


async def test_a_credential_in_an_error_message_is_redacted():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    ex = executor(Server(refuse), spec(credential="query"))
    with pytest.raises(TransientStepError) as caught:
        await call(ex)
    assert "qry-SECRET-4" not in caught.value.message
    assert "[redacted]" in caught.value.message
