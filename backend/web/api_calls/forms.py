"""The API call form: its fields as typed (JSON in text areas, numbers as text) to and from
an `ApiCallSpec`, with every problem attached to the field it is about."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from backend.core.errors import WaybillError
from backend.engine.format import DEFAULT_IDEMPOTENCY_KEY, ApiCallSpec

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
RETRY_FIELDS = ("max_attempts", "initial_s", "backoff", "max_s")
LIMIT_FIELDS = ("rate_limit_per_s", "rate_limit_burst", "max_in_flight")
TEXT_FIELDS = ("id", "name", "method", "url", "credential", "timeout_s", "success_status",
               "idempotency_key", "headers", "query", "body", "mock_status", "mock_body",
               *(f"retry_{name}" for name in RETRY_FIELDS), *LIMIT_FIELDS)


@dataclass
class ApiCallForm:
    values: dict[str, str]
    mock: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    @property
    def general_errors(self) -> list[str]:
        return [m for name, messages in self.errors.items() if name not in TEXT_FIELDS
                for m in messages]


def _json_text(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)


def from_spec(spec: ApiCallSpec) -> ApiCallForm:
    """The form showing a stored API call."""
    retry = spec.retry.model_dump()
    values = {
        "id": spec.id, "name": spec.name, "method": spec.method, "url": spec.url,
        "credential": spec.credential or "", "timeout_s": f"{spec.timeout_s:g}",
        "success_status": ", ".join(str(code) for code in spec.success_status),
        "idempotency_key": spec.idempotency_key,
        "headers": _json_text(spec.headers) if spec.headers else "",
        "query": _json_text(spec.query) if spec.query else "",
        "body": _json_text(spec.body),
        "mock_status": str(spec.mock.status) if spec.mock else "200",
        "mock_body": _json_text(spec.mock.body) if spec.mock else "",
        **{f"retry_{name}": f"{retry[name]:g}" for name in RETRY_FIELDS},
        "rate_limit_per_s": f"{spec.rate_limit.per_s:g}" if spec.rate_limit else "",
        "rate_limit_burst": str(spec.rate_limit.burst) if spec.rate_limit else "",
        "max_in_flight": str(spec.max_in_flight or ""),
    }
    return ApiCallForm(values=values, mock=spec.mock is not None)


def blank_form() -> ApiCallForm:
    """A new API call: the defaults, with nothing to identify it yet."""
    form = from_spec(ApiCallSpec(id="new", name="new", url="https://"))
    form.values.update(id="", name="", url="")
    return form


def _parse_json(form: ApiCallForm, name: str, want_object: bool) -> Any:
    text = form.values[name].strip()
    if not text:
        return {} if want_object else None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        form.add(name, f"Not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).")
        return None
    if want_object and not isinstance(value, dict):
        form.add(name, "Write a JSON object, like {\"X-Shop\": \"{{ variables.shop_id }}\"}.")
        return None
    return value


def _statuses(form: ApiCallForm) -> list[int] | None:
    parts = [part for part in form.values["success_status"].replace(",", " ").split() if part]
    if not all(part.isdigit() for part in parts) or not parts:
        form.add("success_status", "List status codes, like 200, 201.")
        return None
    return [int(part) for part in parts]


def _data(form: ApiCallForm) -> dict[str, Any]:
    values = form.values
    data: dict[str, Any] = {
        "id": values["id"].strip(), "name": values["name"].strip(), "method": values["method"],
        "url": values["url"].strip(), "credential": values["credential"] or None,
        "timeout_s": values["timeout_s"] or None, "success_status": _statuses(form),
        "idempotency_key": values["idempotency_key"].strip() or DEFAULT_IDEMPOTENCY_KEY,
        "headers": _parse_json(form, "headers", True), "query": _parse_json(form, "query", True),
        "body": _parse_json(form, "body", False),
        "retry": {name: values[f"retry_{name}"] or None for name in RETRY_FIELDS},
    }
    data["retry"] = {key: value for key, value in data["retry"].items() if value is not None}
    if values["rate_limit_per_s"].strip() or values["rate_limit_burst"].strip():
        data["rate_limit"] = {"per_s": values["rate_limit_per_s"].strip() or None,
                              "burst": values["rate_limit_burst"].strip() or 1}
    data["max_in_flight"] = values["max_in_flight"].strip() or None
    if form.mock:
        data["mock"] = {"status": values["mock_status"] or 200,
                        "body": _parse_json(form, "mock_body", False)}
    return {key: value for key, value in data.items() if value is not None or key == "body"}


def _field_of(loc: tuple[Any, ...]) -> str:
    head = str(loc[0]) if loc else "form"
    if head in ("retry", "mock", "rate_limit") and len(loc) > 1:
        return f"{head}_{loc[1]}"
    return head


def to_spec(raw: Any) -> tuple[ApiCallForm, ApiCallSpec | None]:
    """The form as posted, and the spec it describes when it has no problems."""
    form = ApiCallForm(values={name: str(raw.get(name, "")) for name in TEXT_FIELDS},
                       mock=raw.get("mock_enabled") in ("on", "true", "1"))
    data = _data(form)
    if form.errors:
        return form, None
    try:
        return form, ApiCallSpec.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            form.add(_field_of(tuple(error["loc"])), str(error["msg"]))
        return form, None


def add_service_errors(form: ApiCallForm, exc: WaybillError) -> None:
    """Problems the service found (templates, credential, conflicts) onto their fields."""
    problems = [p for p in exc.errors if isinstance(p, dict)]
    for problem in problems:
        where = str(problem.get("field", "form")).split(".")[0]
        form.add(where if where in TEXT_FIELDS else "form",
                 f"{problem.get('field', '')}: {problem.get('message', '')}".lstrip(": "))
    if not problems:
        form.add("form", exc.detail)
