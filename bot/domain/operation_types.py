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

from bot.i18n import N_, _

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
    if parameter.example is None:
        text = _("Parameter {name} is required{hint}.")
    else:
        text = _("Parameter {name} is required{hint}, like {example}.")
    example = f"{parameter.name}={shown(parameter.example)}"
    return ParameterProblem(parameter.name, "required", text.format(name=parameter.name, hint=hint, example=example))


def _unknown(operation: OperationType, name: str) -> ParameterProblem:
    known = ", ".join(p.name for p in operation.parameters)
    if known:
        text = _("Parameter {name} is not a parameter of {operation}; its parameters are {known}.")
    else:
        text = _("Parameter {name} is not a parameter of {operation}; it takes no parameters.")
    return ParameterProblem(
        name, "additionalProperties", text.format(name=name[:_SHOWN], operation=operation.name, known=known)
    )


#: A schema type in words (a type it does not name, ``null`` among them, reads as itself).
_TYPE_WORDS = {
    "string": N_("text"),
    "integer": N_("a whole number"),
    "number": N_("a number"),
    "boolean": N_("true or false"),
    "array": N_("a JSON list"),
    "object": N_("a JSON object"),
}

#: The sentence for each rule with a limit (``{limit}``: the schema's value).
_LIMIT_RULES = {
    "minimum": N_("Parameter {where}: must be at least {limit}."),
    "maximum": N_("Parameter {where}: must be at most {limit}."),
    "exclusiveMinimum": N_("Parameter {where}: must be more than {limit}."),
    "exclusiveMaximum": N_("Parameter {where}: must be less than {limit}."),
    "minLength": N_("Parameter {where}: must be at least {limit} characters long."),
    "maxLength": N_("Parameter {where}: must be at most {limit} characters long."),
    "multipleOf": N_("Parameter {where}: must be a multiple of {limit}."),
    "minItems": N_("Parameter {where}: must have at least {limit} items."),
    "maxItems": N_("Parameter {where}: must have at most {limit} items."),
}


def _or_words(words: Sequence[str]) -> str:
    """``a or b or c`` in the reader's language."""
    text = ""
    for word in words:
        text = _("{first} or {second}").format(first=text, second=word) if text else word
    return text


def _type_words(kinds: Iterable[str]) -> str:
    return _or_words([_(_TYPE_WORDS[k]) if k in _TYPE_WORDS else k for k in kinds])


def _rule(error: ValidationError, parameter: Parameter | None, where: str, got: str) -> str:
    """The sentence for the rule ``error`` broke by parameter ``where`` (``got``: what it was given, or "")."""
    rule, expected = str(error.validator), error.validator_value
    like = ""
    if parameter is not None and parameter.example is not None:
        like = " " + _("(like {example})").format(example=shown(parameter.example))
    if rule == "type":
        kinds = [expected] if isinstance(expected, str) else list(expected)
        text = _("Parameter {where}: must be {kinds}{like}{got}.")
        return text.format(where=where, kinds=_type_words(kinds), like=like, got=got)
    if rule == "pattern":
        text = _("Parameter {where}: must match {pattern}{like}{got}.")
        return text.format(where=where, pattern=expected, like=like, got=got)
    if rule == "enum":
        values = ", ".join(shown(v) for v in expected)
        return _("Parameter {where}: must be one of {values}{got}.").format(where=where, values=values, got=got)
    if rule == "const":
        return _("Parameter {where}: must be {value}{got}.").format(where=where, value=shown(expected), got=got)
    if rule in _LIMIT_RULES:
        return _(_LIMIT_RULES[rule]).format(where=where, limit=expected)
    if rule == "format":
        text = _("Parameter {where}: must be a valid {format}{like}{got}.")
        return text.format(where=where, format=expected, like=like, got=got)
    return _("Parameter {where}: must {rule}{got}.").format(where=where, rule=error.message, got=got)


def _problem(operation: OperationType, error: ValidationError) -> ParameterProblem:
    path = [str(p) for p in error.absolute_path]
    name = path[0] if path else None
    parameter = operation.parameter(name) if name is not None else None
    if name is None:
        return ParameterProblem(None, str(error.validator), _("Parameters: {message}").format(message=error.message))
    where = ".".join([name, *path[1:]])
    if len(path) > 1:  # inside a list or object value: the library's own words
        message = _("Parameter {where}: {message}").format(where=where, message=error.message)
        return ParameterProblem(name, str(error.validator), message)
    got = ""
    if error.validator in ("type", "enum", "pattern", "format"):
        got = " " + _("(got {value})").format(value=shown(error.instance))
    return ParameterProblem(name, str(error.validator), _rule(error, parameter, where, got))


def describe_parameter(parameter: Parameter) -> str:
    """One line: ``target_version`` (text, required, like 1.10.2) — the firmware version to install."""
    if parameter.enum:
        kind = _("one of {values}").format(values=", ".join(shown(v) for v in parameter.enum))
    else:
        kind = _kind_words(parameter)
    facts = [kind, _("required") if parameter.required else _("optional")]
    schema = parameter.schema
    if "minimum" in schema:
        facts.append(_("at least {value}").format(value=schema["minimum"]))
    if "maximum" in schema:
        facts.append(_("at most {value}").format(value=schema["maximum"]))
    if "pattern" in schema:
        facts.append(_("matching {value}").format(value=schema["pattern"]))
    if parameter.has_default:
        facts.append(_("default {value}").format(value=shown(parameter.default)))
    if parameter.example is not None:
        facts.append(_("like {value}").format(value=shown(parameter.example)))
    return f"{parameter.name} ({', '.join(facts)})" + (f" — {parameter.description}" if parameter.description else "")


def _kind_words(parameter: Parameter) -> str:
    return _type_words(parameter.types) or _("any JSON value")


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
