"""The automation parameter language (docs/adr/0029): Jinja2 expressions in a sandbox.

A parameter value is either a constant (number, boolean, list, object, or a string without
``{{``) or a template string such as ``"New issue: {{ payload.title }}"``. Only expressions and
filters are allowed — no ``{% %}`` statements, so no loops — evaluated by an immutable sandbox
(no attribute access to internals, no mutation of the payload) with strict undefined names, and
with ``*`` and ``**`` capped so that ``'x' * 10**9`` is refused rather than allocated. A
rendered string is converted to the type the action's schema asks for (``"3"`` → 3 for an
integer), so a template can fill an integer or an array too.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_TEMPLATE_CHARS = 4000
MAX_RENDERED_CHARS = 64 * 1024
_MAX_REPEAT = 10_000
_MAX_EXPONENT = 64


class TemplateError(ValueError):
    """A template that does not parse, is not allowed, or fails to render; ``parameter`` names
    the parameter it belongs to."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > _MAX_EXPONENT:
                raise SecurityError("exponent too large")
            return operator.pow(left, right)
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(count, int) and count > _MAX_REPEAT:
                raise SecurityError("repetition too large")
        return operator.mul(left, right)


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_ENV.filters["json"] = lambda value: json.dumps(value, separators=(",", ":"), default=str)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _check_expressions_only(parameter: str, source: str) -> None:
    try:
        tree = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(parameter, f"syntax error on line {exc.lineno}: {exc.message}") from None
    for body_node in tree.body:
        if not isinstance(body_node, nodes.Output):
            raise TemplateError(parameter, "only {{ expressions }} are allowed, no {% statements %}")


def compile_check(parameter: str, value: Any) -> None:
    """Raise TemplateError when ``value`` is a template this language refuses."""
    if not is_template(value):
        return
    if len(value) > MAX_TEMPLATE_CHARS:
        raise TemplateError(parameter, f"longer than {MAX_TEMPLATE_CHARS} characters")
    _check_expressions_only(parameter, value)


def _coerce(parameter: str, text: str, schema: Mapping[str, Any] | None) -> Any:
    wanted = (schema or {}).get("type")
    types = set(wanted) if isinstance(wanted, list) else {wanted} if wanted else set()
    if not types or "string" in types:
        return text
    if types & {"integer", "number", "boolean", "array", "object", "null"}:
        try:
            return json.loads(text)
        except ValueError:
            raise TemplateError(parameter, f"rendered {text[:80]!r}, which is not a {wanted}") from None
    return text


def render_value(
    parameter: str, value: Any, context: Mapping[str, Any], schema: Mapping[str, Any] | None
) -> Any:
    if isinstance(value, dict):
        return {k: render_value(f"{parameter}.{k}", v, context, None) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(f"{parameter}[{i}]", v, context, None) for i, v in enumerate(value)]
    if not is_template(value):
        return value
    compile_check(parameter, value)
    try:
        text = _ENV.from_string(value).render(context)
    except UndefinedError as exc:
        raise TemplateError(parameter, str(exc.message or "undefined value")) from None
    except SecurityError as exc:
        raise TemplateError(parameter, f"not allowed: {exc}") from None
    except Exception as exc:  # a filter given the wrong type, a division by zero...
        raise TemplateError(parameter, f"{type(exc).__name__}: {exc}"[:300]) from None
    if len(text) > MAX_RENDERED_CHARS:
        raise TemplateError(parameter, f"rendered more than {MAX_RENDERED_CHARS} characters")
    return _coerce(parameter, text, schema)


def render_parameters(
    mapping: Mapping[str, Any], context: Mapping[str, Any], parameters_schema: Mapping[str, Any]
) -> dict[str, Any]:
    """Each parameter rendered against ``context`` (``payload`` and ``trigger``)."""
    properties = parameters_schema.get("properties") or {}
    return {name: render_value(name, value, context, properties.get(name)) for name, value in mapping.items()}


def check_mapping(mapping: Mapping[str, Any]) -> None:
    """Every template in a mapping parses and uses expressions only."""
    for name, value in mapping.items():
        _check_tree(name, value)


def _check_tree(name: str, value: Any) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _check_tree(f"{name}.{k}", v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_tree(f"{name}[{i}]", v)
    else:
        compile_check(name, value)
