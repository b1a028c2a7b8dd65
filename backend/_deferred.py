"""Imports put off until first use, installed when `backend` is imported.

jsonschema's format checker imports `rfc3987_syntax` as it loads, for the `iri` and
`iri-reference` formats; that module builds a Lark grammar at import, about 3 s of processor
time in every process (each `waybill web`, `waybill worker` and CLI start) whether or not
any schema ever uses those formats. A stand-in takes its place until an IRI is first
checked, then loads the real module and hands over, so the formats are checked as before.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

_NAME = "rfc3987_syntax"


def _is_valid_syntax(rule: str, value: str) -> Any:
    sys.modules.pop(_NAME, None)
    real = importlib.import_module(_NAME)
    return real.is_valid_syntax(rule, value)


def install() -> None:
    if _NAME in sys.modules or importlib.util.find_spec(_NAME) is None:
        return
    stand_in = types.ModuleType(_NAME, "stand-in until first use (backend._deferred)")
    stand_in.is_valid_syntax = _is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[_NAME] = stand_in
