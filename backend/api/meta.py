"""What the editor needs: the node-type catalogue, the function list and expression checks."""

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from backend.engine import expressions, functions
from backend.engine.catalogue import Catalogue, catalogue_json

router = APIRouter(tags=["editor help"])


class FunctionList(BaseModel):
    data: list[dict[str, Any]]


class ExpressionCheck(BaseModel):
    expression: str = Field(max_length=20_000)
    kind: Literal["expression", "template"] = "expression"


class ExpressionVerdict(BaseModel):
    ok: bool
    error: str | None = None
    names: list[str] = Field(default_factory=list, description="top-level names it reads")


@router.get("/node-types")
async def node_types() -> Catalogue:
    """Every node type (ports, edge kinds in and out, fields, title, icon) and edge kind: the
    rules the validator applies, which the editor builds its palette and ports from."""
    return Catalogue.model_validate(catalogue_json())


@router.get("/functions")
async def list_functions() -> FunctionList:
    return FunctionList(data=functions.describe())


@router.post("/expressions/check")
async def check_expression(body: ExpressionCheck) -> ExpressionVerdict:
    template = body.kind == "template"
    error = expressions.parse_error(body.expression, template=template)
    if error:
        return ExpressionVerdict(ok=False, error=error)
    names = expressions.undeclared_names(body.expression, template=template)
    return ExpressionVerdict(ok=True, names=sorted(names))
