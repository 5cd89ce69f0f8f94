"""The operation types people may schedule, with their parameters as JSON Schema (``OPERATIONS_FILE``).

Pure: ``OperationCatalogue`` holds the types; ``check_parameters`` validates a request's parameters against its
type's schema and returns the values to send (defaults applied) and one ``ParameterProblem`` per broken rule, each
naming the parameter and the rule in words a person can act on ("Parameter target_version: must match
^\\d+\\.\\d+(\\.\\d+)?$ (like 1.10.2)"). Reading and checking the file itself is ``bot.services.operation_types``.

Values typed as text (``retries=3``, a modal's text or number field) are read by their parameter's schema type
first (``coerce_text``): ``3`` for an integer, ``true`` for a boolean. Values given as JSON (``retries:=3``, a JSON
object) are taken exactly as given.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

#: What a parameter's schema ``type`` may be for the bot to build a field for it and read typed text into it.
SCALAR_TYPES = ("string", "integer", "number", "boolean")
_INTEGER = re.compile(r"^[+-]?\d{1,30}\Z")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z")
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_SHOWN = 40


@dataclass(frozen=True)
class Parameter:
    """One parameter of an operation type: its name, whether it is required, and its JSON Schema."""

    name: str
    schema: Mapping[str, Any]
    required: bool = False

    @property
    def types(self) -> tuple[str, ...]:
        """The schema's ``type`` as a tuple (``()`` when it names none)."""
        kind = self.schema.get("type")
        if isinstance(kind, str):
            return (kind,)
        return tuple(k for k in kind if isinstance(k, str)) if isinstance(kind, list) else ()

    @property
    def kind(self) -> str:
        """The field to show: ``enum``, ``boolean``, ``integer``, ``number`` or ``string`` (anything else)."""
        if isinstance(self.schema.get("enum"), list):
            return "enum"
        for kind in ("boolean", "integer", "number"):
            if kind in self.types:
                return kind
        return "string"

    @property
    def description(self) -> str:
        text = self.schema.get("description")
        return text if isinstance(text, str) else ""

    @property
    def enum(self) -> tuple[Any, ...]:
        values = self.schema.get("enum")
        return tuple(values) if isinstance(values, list) else ()

    @property
    def has_default(self) -> bool:
        return "default" in self.schema

    @property
    def default(self) -> Any:
        return self.schema.get("default")

    @property
    def example(self) -> Any:
        """The first of the schema's ``examples``, if any (shown after a rule: "(like 1.10.2)")."""
        examples = self.schema.get("examples")
        return examples[0] if isinstance(examples, list) and examples else None


@dataclass(frozen=True)
class OperationType:
    """One operation type: description, parameters (schema ``properties``), approval and window policy.

    ``approval_required`` / ``window_policy``: ``None`` leaves it to ``APPROVAL_REQUIRED_FOR`` / ``WINDOW_POLICY``.
    ``schema``: the whole ``parameters`` schema (an object schema), against which a request's parameters are checked.
    """

    name: str
    description: str = ""
    schema: Mapping[str, Any] = field(default_factory=dict)
    approval_required: bool | None = None
    window_policy: str | None = None

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        properties = self.schema.get("properties")
        required = set(self.schema.get("required") or ())
        if not isinstance(properties, Mapping):
            return ()
        return tuple(
            Parameter(name, schema if isinstance(schema, Mapping) else {}, name in required)
            for name, schema in properties.items()
        )

    def parameter(self, name: str) -> Parameter | None:
        return next((p for p in self.parameters if p.name == name), None)

    @property
    def closed(self) -> bool:
        """No parameters besides those listed (``additionalProperties: false``)."""
        return self.schema.get("additionalProperties") is False


@dataclass(frozen=True)
class OperationCatalogue:
    """The operation types of ``OPERATIONS_FILE``, in the file's order."""

    types: tuple[OperationType, ...]

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.types]

    def get(self, name: str) -> OperationType | None:
        return next((t for t in self.types if t.name == name), None)

    def __len__(self) -> int:
        return len(self.types)


@dataclass(frozen=True)
class ParameterProblem:
    """One broken rule: the parameter it concerns (``None``: the parameters as a whole), the JSON Schema keyword
    (``pattern``, ``required``, ``type``…), and the sentence shown to the person."""

    parameter: str | None
    rule: str
    message: str


@dataclass(frozen=True)
class ParameterCheck:
    """What ``check_parameters`` found: the values to send (defaults applied) and the problems (none: valid)."""

    values: dict[str, Any]
    problems: tuple[ParameterProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def shown(value: Any) -> str:
    """A value as a person would type it, cut to a readable length."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, str):
        text = value
    else:
        text = repr(value) if not isinstance(value, (int, float)) else str(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def coerce_text(parameter: Parameter, value: Any) -> Any:
    """A value typed as text (``key=value``, a modal field), read by the parameter's schema type.

    ``"3"`` → ``3`` for an integer, ``"2.5"`` → ``2.5`` for a number, ``"yes"`` → ``True`` for a boolean; a
    boolean the text reader made of ``true`` goes back to text for a string. Text that does not read as the type
    stays as it is, and the schema then says what is wrong with it.
    """
    types = parameter.types
    if isinstance(value, bool) and "boolean" not in types and ("string" in types or parameter.enum):
        text = "true" if value else "false"
        return text if not parameter.enum or text in parameter.enum else value
    if not isinstance(value, str):
        return value
    text = value.strip()
    for option in parameter.enum:
        if not isinstance(option, str) and shown(option) == text:
            return option
    if "string" in types or (parameter.enum and value in parameter.enum):
        return value
    if "integer" in types and _INTEGER.match(text):
        return int(text)
    if "number" in types and _NUMBER.match(text):
        number = float(text)
        if math.isfinite(number):
            return int(text) if _INTEGER.match(text) else number
    if "boolean" in types and text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    if ("array" in types or "object" in types) and text[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except ValueError:
            return value
    if "null" in types and text.lower() in ("", "null"):
        return None
    return value


def check_parameters(
    operation: OperationType, given: Mapping[str, Any], *, typed_as_text: Iterable[str] = ()
) -> ParameterCheck:
    """``given`` checked against ``operation``'s schema; ``typed_as_text``: the names whose value was typed as text
    (read by ``coerce_text`` first). Problems come in the schema's order of parameters, the unknown ones last."""
    text_keys = set(typed_as_text)
    values: dict[str, Any] = {}
    for name, value in given.items():
        parameter = operation.parameter(name)
        values[name] = coerce_text(parameter, value) if parameter is not None and name in text_keys else value
    problems: list[ParameterProblem] = []
    known = [p.name for p in operation.parameters]
    for parameter in operation.parameters:
        if parameter.required and parameter.name not in values:
            problems.append(_missing(parameter))
    if operation.closed:
        for name in values:
            if name not in known:
                problems.append(_unknown(operation, name))
    validator = Draft202012Validator(operation.schema, format_checker=FormatChecker())
    for error in sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.absolute_path]):
        if not error.absolute_path and error.validator in ("required", "additionalProperties"):
            continue  # said above, naming each parameter
        problems.append(_problem(operation, error))
    order = {name: i for i, name in enumerate(known)}
    problems.sort(key=lambda p: order.get(p.parameter or "", len(order)))
    if problems:
        return ParameterCheck(values=values, problems=tuple(problems))
    for parameter in operation.parameters:
        if parameter.name not in values and parameter.has_default:
            values[parameter.name] = parameter.default
    return ParameterCheck(values=values)


def _missing(parameter: Parameter) -> ParameterProblem:
    hint = f" ({parameter.description.rstrip('.')})" if parameter.description else ""
    like = f", like {parameter.name}={shown(parameter.example)}" if parameter.example is not None else ""
    return ParameterProblem(parameter.name, "required", f"Parameter {parameter.name} is required{hint}{like}.")


def _unknown(operation: OperationType, name: str) -> ParameterProblem:
    known = ", ".join(p.name for p in operation.parameters)
    has = f"its parameters are {known}" if known else "it takes no parameters"
    return ParameterProblem(
        name, "additionalProperties", f"Parameter {name[:_SHOWN]} is not a parameter of {operation.name}; {has}."
    )


_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a JSON list",
    "object": "a JSON object",
    "null": "null",
}


def _rule(error: ValidationError, parameter: Parameter | None) -> str:
    """The rule ``error`` broke, as a phrase after "must"."""
    rule, expected = str(error.validator), error.validator_value
    like = f" (like {shown(parameter.example)})" if parameter is not None and parameter.example is not None else ""
    if rule == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        return "be " + " or ".join(_TYPE_WORDS.get(k, k) for k in kinds) + like
    if rule == "pattern":
        return f"match {expected}{like}"
    if rule == "enum":
        return "be one of " + ", ".join(shown(v) for v in expected)
    if rule == "const":
        return f"be {shown(expected)}"
    words = {
        "minimum": "be at least {}",
        "maximum": "be at most {}",
        "exclusiveMinimum": "be more than {}",
        "exclusiveMaximum": "be less than {}",
        "minLength": "be at least {} characters long",
        "maxLength": "be at most {} characters long",
        "multipleOf": "be a multiple of {}",
        "minItems": "have at least {} items",
        "maxItems": "have at most {} items",
        "format": "be a valid {}",
    }
    if rule in words:
        return words[rule].format(expected) + (like if rule == "format" else "")
    return error.message


def _problem(operation: OperationType, error: ValidationError) -> ParameterProblem:
    path = [str(p) for p in error.absolute_path]
    name = path[0] if path else None
    parameter = operation.parameter(name) if name is not None else None
    if name is None:
        return ParameterProblem(None, str(error.validator), f"Parameters: {error.message}")
    where = ".".join([name, *path[1:]])
    if len(path) > 1:  # inside a list or object value: the library's own words
        return ParameterProblem(name, str(error.validator), f"Parameter {where}: {error.message}")
    got = f" (got {shown(error.instance)})" if error.validator in ("type", "enum", "pattern", "format") else ""
    return ParameterProblem(name, str(error.validator), f"Parameter {where}: must {_rule(error, parameter)}{got}.")


def describe_parameter(parameter: Parameter) -> str:
    """One line: ``target_version`` (text, required, like 1.10.2) — the firmware version to install."""
    kind = "one of " + ", ".join(shown(v) for v in parameter.enum) if parameter.enum else _kind_words(parameter)
    facts = [kind, "required" if parameter.required else "optional"]
    schema = parameter.schema
    for key, words in (("minimum", "at least"), ("maximum", "at most"), ("pattern", "matching")):
        if key in schema:
            facts.append(f"{words} {schema[key]}")
    if parameter.has_default:
        facts.append(f"default {shown(parameter.default)}")
    if parameter.example is not None:
        facts.append(f"like {shown(parameter.example)}")
    return f"{parameter.name} ({', '.join(facts)})" + (f" — {parameter.description}" if parameter.description else "")


def _kind_words(parameter: Parameter) -> str:
    return " or ".join(_TYPE_WORDS.get(k, k) for k in parameter.types) or "any JSON value"


def api_parameter_problems(body: Any) -> list[tuple[str | None, str]]:
    """A Control API 400 body (DRF's shape) → (parameter, message) for what it says about ``parameters``.

    ``{"parameters": {"target_version": ["Enter a valid version."]}}`` → ``[("target_version", "Enter a valid
    version.")]``; ``{"parameters": ["Expected a dictionary…"]}`` → ``[(None, "Expected a dictionary…")]``.
    Empty when the body says nothing about the parameters.
    """
    if not isinstance(body, Mapping):
        return []
    found = body.get("parameters")
    if isinstance(found, Mapping):
        return [(str(name), _joined(text)) for name, text in found.items() if _joined(text)]
    if found is not None and _joined(found):
        return [(None, _joined(found))]
    return []


def _joined(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Sequence):
        return " ".join(part for part in (_joined(v) for v in value) if part)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_joined(v)}" for k, v in value.items() if _joined(v))
    return "" if value is None else str(value)


__all__ = [
    "SCALAR_TYPES",
    "OperationCatalogue",
    "OperationType",
    "Parameter",
    "ParameterCheck",
    "ParameterProblem",
    "api_parameter_problems",
    "check_parameters",
    "coerce_text",
    "describe_parameter",
    "shown",
]
