"""``OPERATIONS_FILE``: read the operation types (YAML), check the file with ``jsonschema``, and apply the types to
what people type.

The file maps each operation type to its description, its parameters (a JSON Schema object schema), whether it
needs approval and its window policy::

    firmware_update:
      description: Install a firmware version.
      approval_required: true          # else APPROVAL_REQUIRED_FOR decides
      window_policy: block             # warn | require-approval | block; else WINDOW_POLICY decides
      parameters:
        type: object
        required: [target_version]
        additionalProperties: false
        properties:
          target_version: {type: string, pattern: '^\\d+\\.\\d+(\\.\\d+)?$', examples: ["1.10.2"]}
          restart_required: {type: boolean, default: true}
    reboot:
      description: Restart the device.   # no parameters: it takes none

``read_operations_file`` raises ``OperationsFileError`` (one line, naming the file and the path of the error in it,
``firmware_update.parameters.properties.target_version.pattern: '((' is not a 'regex'``) for a file that cannot be
the catalogue. ``OperationRules`` is what scheduling asks: the types people may choose, their parameters checked,
their approval and window policy, with or without a catalogue (without one: ``OPERATION_TYPES``, free parameters,
``APPROVAL_REQUIRED_FOR`` and ``WINDOW_POLICY``, as before the file existed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from bot.control.errors import ControlApiError, InvalidRequest
from bot.domain.ids import OPERATION_TYPE
from bot.domain.operation_types import (
    OperationCatalogue,
    OperationType,
    ParameterProblem,
    api_parameter_problems,
    check_parameters,
)
from bot.i18n import _
from bot.services.inputs import PARAM_KEY_RE, InputError, parse_operation_type, parse_parameters
from bot.settings import Settings
from bot.when.windows import WindowPolicy

MAX_PROBLEMS = 5
_NO_PARAMETERS: dict[str, Any] = {"type": "object", "additionalProperties": False}

#: The shape of the file itself; each type's ``parameters`` is then checked against JSON Schema's own meta-schema.
FILE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "propertyNames": {"type": "string", "pattern": OPERATION_TYPE.pattern.replace("\\Z", "$")},
    "additionalProperties": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "description": {"type": "string"},
            "approval_required": {"type": "boolean"},
            "window_policy": {"enum": [p.value for p in WindowPolicy]},
            "parameters": {
                "type": "object",
                "properties": {
                    "type": {"const": "object"},
                    "properties": {
                        "type": "object",
                        "propertyNames": {"type": "string", "pattern": PARAM_KEY_RE.pattern},
                        "additionalProperties": {"type": "object"},
                    },
                    "required": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                    "additionalProperties": {"type": "boolean"},
                },
            },
        },
    },
}


class OperationsFileError(ValueError):
    """A file that cannot be the catalogue; ``problems``: ``path: what is wrong`` each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        shown = problems[:MAX_PROBLEMS]
        more = f"; and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        super().__init__(f"OPERATIONS_FILE {source}: " + "; ".join(shown) + more)


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _where(parts: Any) -> str:
    return ".".join(str(p) for p in parts) or "(top level)"


def parse_operations(text: str, *, source: str = "operations") -> OperationCatalogue:
    """The catalogue in ``text`` (YAML); ``OperationsFileError`` naming the path of each problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise OperationsFileError(source, [f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})"]) from None
    if not isinstance(data, dict):
        raise OperationsFileError(source, ["(top level): expected a mapping of operation types, like reboot: {…}"])
    odd = [f"(top level): {name!r} is not an operation type name" for name in data if not isinstance(name, str)]
    if odd:
        raise OperationsFileError(source, odd)
    errors = sorted(Draft202012Validator(FILE_SCHEMA).iter_errors(data), key=lambda e: list(map(str, e.path)))
    problems = [f"{_where(e.absolute_path)}: {_one_line(e.message)}" for e in errors]
    if problems:
        raise OperationsFileError(source, problems)
    types = []
    for name, entry in data.items():
        schema = entry.get("parameters", _NO_PARAMETERS)
        problems.extend(_schema_problems(f"{name}.parameters", schema))
        types.append(
            OperationType(
                name=name,
                description=entry.get("description", ""),
                schema=schema,
                approval_required=entry.get("approval_required"),
                window_policy=entry.get("window_policy"),
            )
        )
    if problems:
        raise OperationsFileError(source, problems)
    return OperationCatalogue(tuple(types))


def _schema_problems(where: str, schema: Mapping[str, Any]) -> list[str]:
    """The type's parameter schema against the meta-schema, then what a meta-schema cannot say: required names
    that are no parameter, defaults and enum values their own parameter would refuse."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [f"{where}.{_where(exc.absolute_path)}: {_one_line(exc.message)}"]
    problems = [f"{where}.{path}: references are not supported; write the schema inline" for path in _refs(schema)]
    properties = schema.get("properties") or {}
    for index, name in enumerate(schema.get("required") or ()):
        if name not in properties:
            problems.append(f"{where}.required.{index}: {name!r} is not one of the parameters under properties")
    for name, parameter in properties.items():
        check = Draft202012Validator(parameter)
        if "default" in parameter:
            error = next(iter(check.iter_errors(parameter["default"])), None)
            if error is not None:
                problems.append(f"{where}.properties.{name}.default: {_one_line(error.message)}")
        for index, value in enumerate(parameter.get("enum") or ()):
            error = next(iter(Draft202012Validator({k: v for k, v in parameter.items() if k != "enum"})
                               .iter_errors(value)), None)  # fmt: skip
            if error is not None:
                problems.append(f"{where}.properties.{name}.enum.{index}: {_one_line(error.message)}")
    return problems


def _refs(node: Any, path: str = "") -> list[str]:
    """Where ``$ref`` / ``$dynamicRef`` appear: the bot checks parameters without fetching or resolving anything."""
    found: list[str] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        here = f"{path}.{key}" if path else str(key)
        if key in ("$ref", "$dynamicRef", "$recursiveRef"):
            found.append(here)
        found.extend(_refs(value, here))
    return found


def read_operations_file(path: str | Path) -> OperationCatalogue:
    """The catalogue in the file at ``path``; ``OperationsFileError`` (one line) for a missing or bad file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OperationsFileError(str(path), [f"cannot be read ({exc.__class__.__name__}: {exc})"]) from None
    return parse_operations(text, source=str(path))


def load_operations(settings: Settings) -> OperationCatalogue | None:
    """``OPERATIONS_FILE``'s catalogue (``None`` when unset); ``APPROVAL_REQUIRED_FOR`` may only name its types."""
    if not settings.operations_file:
        return None
    catalogue = read_operations_file(settings.operations_file)
    unknown = [t for t in settings.approval_required_for if t != "*" and catalogue.get(t) is None]
    if unknown:
        raise OperationsFileError(
            settings.operations_file, [f"APPROVAL_REQUIRED_FOR names types that are not in it: {', '.join(unknown)}"]
        )
    return catalogue


@dataclass(frozen=True)
class OperationRead:
    """An operation type and its parameters as read from a form: the values to send, or the problems per field
    (``operation_type``, ``parameters``, or ``parameters.NAME`` for one parameter's own field)."""

    operation_type: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def parameter_field(name: str) -> str:
    """The ``FormErrors`` key of one parameter's own field (the modal shows one field per parameter)."""
    return f"parameters.{name}"


class OperationRules:
    """The operation types people may schedule and what each asks for, with or without ``OPERATIONS_FILE``."""

    def __init__(self, settings: Settings, catalogue: OperationCatalogue | None = None) -> None:
        self._settings = settings
        self.catalogue = catalogue

    @property
    def names(self) -> list[str]:
        return self.catalogue.names if self.catalogue is not None else list(self._settings.operation_types)

    def get(self, name: str) -> OperationType | None:
        return self.catalogue.get(name) if self.catalogue is not None else None

    def approval_required(self, name: str) -> bool:
        """The type's own ``approval_required``, else ``APPROVAL_REQUIRED_FOR``."""
        known = self.get(name)
        if known is not None and known.approval_required is not None:
            return known.approval_required
        return self._settings.approval_required(name)

    def window_policy(self, name: str) -> WindowPolicy:
        """The type's own ``window_policy``, else ``WINDOW_POLICY``."""
        known = self.get(name)
        if known is not None and known.window_policy is not None:
            return WindowPolicy(known.window_policy)
        return self._settings.window_policy

    def read(self, type_text: str, parameters_text: str, fields: Mapping[str, Any] | None = None) -> OperationRead:
        """The type and its parameters: ``parameters_text`` as the quick form (and a modal without a catalogue)
        types it, or ``fields`` (name → value) from a modal with one field per parameter."""
        errors: dict[str, str] = {}
        operation_type = ""
        try:
            operation_type = parse_operation_type(type_text, self.names)
        except InputError as exc:
            errors["operation_type"] = str(exc)
        if self.catalogue is None or fields is None:
            text_keys: set[str] = set()
            try:
                given = parse_parameters(parameters_text, text_keys=text_keys)
            except InputError as exc:
                errors["parameters"] = str(exc)
                return OperationRead(operation_type, {}, errors)
        else:
            given = {name: value for name, value in fields.items() if value is not None and value != ""}
            text_keys = {name for name, value in given.items() if isinstance(value, str)}
        known = self.get(operation_type)
        if known is None:
            return OperationRead(operation_type, given, errors)
        check = check_parameters(known, given, typed_as_text=text_keys)
        if check.ok:
            return OperationRead(operation_type, check.values, errors)
        if fields is None:
            errors["parameters"] = " ".join(p.message for p in check.problems)
        else:
            errors.update(_per_field(check.problems))
        return OperationRead(operation_type, check.values, errors)


def _per_field(problems: tuple[ParameterProblem, ...]) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    for problem in problems:
        key = parameter_field(problem.parameter) if problem.parameter else "parameters"
        found.setdefault(key, []).append(problem.message)
    return {key: " ".join(messages) for key, messages in found.items()}


def refusal_text(exc: ControlApiError) -> str | None:
    """An API 400 that names parameters, as the item's error naming each (``Parameter target_version: the Control
    API refused it: Enter a valid version.``); ``None`` when it names none."""
    if not isinstance(exc, InvalidRequest):
        return None
    named = api_parameter_problems(exc.body)
    if not named:
        return None
    return " ".join(
        _("Parameter {name}: the Control API refused it: {text}").format(name=name, text=text)
        if name
        else _("Parameters: the Control API refused them: {text}").format(text=text)
        for name, text in named
    )


__all__ = [
    "FILE_SCHEMA",
    "OperationRead",
    "OperationRules",
    "OperationsFileError",
    "load_operations",
    "parameter_field",
    "parse_operations",
    "read_operations_file",
    "refusal_text",
]
