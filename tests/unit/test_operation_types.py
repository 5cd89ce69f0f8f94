"""Operation types (``OPERATIONS_FILE``): the file checked with jsonschema, parameters checked and coerced per type,
approval and window policy per type, and the Block Kit fields built for them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.control.errors import InvalidRequest
from bot.domain.operation_types import (
    OperationType,
    Parameter,
    api_parameter_problems,
    check_parameters,
    coerce_text,
)
from bot.services.operation_types import (
    OperationRules,
    OperationsFileError,
    load_operations,
    parse_operations,
    read_operations_file,
    refusal_text,
)
from bot.services.scheduling import FormErrors, ScheduleForm, SchedulingService
from bot.settings import Settings
from bot.simulator.records import OPERATION_TYPES as SIMULATOR_TYPES
from bot.slack.blocks import operation_types as ob
from bot.slack.operation_fields import error_blocks, read_parameter_fields, with_type

SAMPLE = Path(__file__).parents[2] / "bot" / "console" / "samples" / "operations.yaml"

FILE = r"""
firmware_update:
  description: Install a firmware version.
  approval_required: true
  parameters:
    type: object
    required: [target_version]
    additionalProperties: false
    properties:
      target_version: {type: string, pattern: '^\d+\.\d+(\.\d+)?$', examples: ["1.10.2"], description: The version}
      restart_required: {type: boolean, default: true}
      retries: {type: integer, minimum: 0, maximum: 5, default: 1}
      ratio: {type: number, exclusiveMinimum: 0}
      channel: {enum: [stable, beta, 3]}
reboot:
  description: Restart the device.
  approval_required: false
  window_policy: block
open_type:
  parameters:
    properties:
      note: {type: string, maxLength: 5}
"""


@pytest.fixture
def catalogue():
    return parse_operations(FILE, source="ops.yaml")


def firmware(catalogue) -> OperationType:
    found = catalogue.get("firmware_update")
    assert found is not None
    return found


# ------------------------------------------------------------------------------------------------ the file


def test_the_file_reads_in_its_order_with_its_policies(catalogue) -> None:
    assert catalogue.names == ["firmware_update", "reboot", "open_type"]
    fw = firmware(catalogue)
    assert [p.name for p in fw.parameters] == ["target_version", "restart_required", "retries", "ratio", "channel"]
    assert [p.kind for p in fw.parameters] == ["string", "boolean", "integer", "number", "enum"]
    assert fw.parameter("target_version").required and not fw.parameter("retries").required
    assert fw.approval_required is True and fw.window_policy is None
    reboot = catalogue.get("reboot")
    assert reboot.parameters == () and reboot.closed, "a type without parameters takes none"
    assert reboot.window_policy == "block"


@pytest.mark.parametrize(
    ("text", "path"),
    [
        (
            "firmware_update:\n  parameters:\n    properties:\n      target_version: {type: string, pattern: '(('}\n",
            "firmware_update.parameters.properties.target_version.pattern: '((' is not a 'regex'",
        ),
        ("reboot:\n  parameters:\n    properties:\n      n: {type: integr}\n", "reboot.parameters.properties.n.type:"),
        ("reboot:\n  approval: yes\n", "reboot: Additional properties are not allowed ('approval' was unexpected)"),
        ("reboot:\n  window_policy: never\n", "reboot.window_policy: 'never' is not one of"),
        ("reboot:\n  approval_required: maybe\n", "reboot.approval_required: 'maybe' is not of type 'boolean'"),
        ("Reboot: {}\n", "(top level): 'Reboot' does not match"),
        ("x:\n  parameters:\n    required: [a]\n", "x.parameters.required.0: 'a' is not one of the parameters"),
        (
            "x:\n  parameters:\n    properties:\n      a: {type: integer, default: zz}\n",
            "x.parameters.properties.a.default: 'zz' is not of type 'integer'",
        ),
        (
            "x:\n  parameters:\n    properties:\n      a: {type: integer, enum: [1, b]}\n",
            "x.parameters.properties.a.enum.1: 'b' is not of type 'integer'",
        ),
        ("x:\n  parameters:\n    type: array\n", "x.parameters.type: 'object' was expected"),
        (
            "x:\n  parameters:\n    properties:\n      a: {$ref: 'https://example.com/s.json'}\n",
            "x.parameters.properties.a.$ref: references are not supported",
        ),
        ("- reboot\n", "(top level): expected a mapping of operation types"),
        ("", "(top level): expected a mapping of operation types"),
        ("x: [\n", "line 2: not valid YAML"),
    ],
    ids=[
        "regex",
        "type",
        "unknown-key",
        "policy",
        "approval",
        "type-name",
        "required",
        "default",
        "enum",
        "not-object",
        "ref",
        "list",
        "empty",
        "yaml",
    ],
)
def test_a_bad_file_is_refused_with_the_path_of_the_error(text: str, path: str) -> None:
    with pytest.raises(OperationsFileError) as caught:
        parse_operations(text, source="ops.yaml")
    message = str(caught.value)
    assert message.startswith("OPERATIONS_FILE ops.yaml: ")
    assert path in message
    assert "\n" not in message


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(OperationsFileError, match=r"^OPERATIONS_FILE .*nope.yaml: cannot be read"):
        read_operations_file(tmp_path / "nope.yaml")


def test_the_console_sample_is_valid_and_has_only_types_the_simulator_knows() -> None:
    sample = read_operations_file(SAMPLE)
    assert set(sample.names) == set(SIMULATOR_TYPES)
    fw = sample.get("firmware_update")
    assert fw.parameter("target_version").schema["pattern"]
    assert fw.parameter("restart_required").default is True
    assert sample.get("configuration_update").parameter("config_profile").enum
    reboot = sample.get("reboot")
    assert reboot.parameters == () and reboot.approval_required is False
    reset = sample.get("factory_reset")
    assert reset.approval_required is True and reset.window_policy == "block"


# ------------------------------------------------------------------------------------------ the parameters


def test_typed_text_is_read_by_the_schema_type(catalogue) -> None:
    fw = firmware(catalogue)
    assert coerce_text(fw.parameter("retries"), "3") == 3
    assert coerce_text(fw.parameter("ratio"), "2.5") == 2.5
    assert coerce_text(fw.parameter("ratio"), "2") == 2
    assert coerce_text(fw.parameter("restart_required"), "no") is False
    assert coerce_text(fw.parameter("target_version"), True) == "true", "key=true for a text parameter stays text"
    assert coerce_text(fw.parameter("channel"), "3") == 3, "an enum value that is a number"
    assert coerce_text(fw.parameter("channel"), "beta") == "beta"
    assert coerce_text(fw.parameter("retries"), "three") == "three", "left for the schema to refuse"
    listed = Parameter("hosts", {"type": "array", "items": {"type": "string"}})
    assert coerce_text(listed, '["a", "b"]') == ["a", "b"], "a JSON list typed in a text field"
    assert coerce_text(listed, "[a") == "[a"


def test_valid_parameters_get_their_defaults(catalogue) -> None:
    check = check_parameters(firmware(catalogue), {"target_version": "1.10.2", "retries": "3"},
                             typed_as_text={"target_version", "retries"})  # fmt: skip
    assert check.ok
    assert check.values == {"target_version": "1.10.2", "retries": 3, "restart_required": True}


def test_json_values_are_taken_exactly(catalogue) -> None:
    check = check_parameters(firmware(catalogue), {"target_version": "1.2", "retries": "3"})
    assert [(p.parameter, p.rule) for p in check.problems] == [("retries", "type")]
    assert check.problems[0].message == "Parameter retries: must be a whole number (got 3)."


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"target_version": "1.x"}, "Parameter target_version: must match ^\\d+\\.\\d+(\\.\\d+)?$ (like 1.10.2)"),
        ({}, "Parameter target_version is required (The version), like target_version=1.10.2."),
        ({"target_version": "1.2", "retries": "9"}, "Parameter retries: must be at most 5."),
        ({"target_version": "1.2", "ratio": "0"}, "Parameter ratio: must be more than 0."),
        ({"target_version": "1.2", "channel": "nightly"}, "Parameter channel: must be one of stable, beta, 3"),
        ({"target_version": "1.2", "restart_required": "perhaps"}, "Parameter restart_required: must be true or false"),
        (
            {"target_version": "1.2", "colour": "red"},
            "Parameter colour is not a parameter of firmware_update; its parameters are target_version, "
            "restart_required, retries, ratio, channel.",
        ),
    ],
    ids=["pattern", "required", "maximum", "exclusive", "enum", "boolean", "unknown"],
)
def test_each_problem_names_the_parameter_and_the_rule(catalogue, given: dict, expected: str) -> None:
    check = check_parameters(firmware(catalogue), given, typed_as_text=set(given))
    assert not check.ok
    assert any(p.message.startswith(expected) for p in check.problems), check.problems


def test_a_type_without_parameters_refuses_any(catalogue) -> None:
    check = check_parameters(catalogue.get("reboot"), {"x": 1})
    assert [p.message for p in check.problems] == ["Parameter x is not a parameter of reboot; it takes no parameters."]
    assert check_parameters(catalogue.get("open_type"), {"anything": 1}).ok, "an open schema takes others"


def test_api_refusals_naming_parameters() -> None:
    body = {"parameters": {"target_version": ["Enter a valid version number, like 1.2.3."]}}
    assert api_parameter_problems(body) == [("target_version", "Enter a valid version number, like 1.2.3.")]
    assert api_parameter_problems({"parameters": ['Expected a dictionary of items but got type "list".']}) == [
        (None, 'Expected a dictionary of items but got type "list".')
    ]
    assert api_parameter_problems({"scheduled_time": ["Scheduled time must be in the future."]}) == []
    refused = InvalidRequest("parameters: target_version: Enter a valid version.", body=body)
    assert refusal_text(refused) == (
        "Parameter target_version: the Control API refused it: Enter a valid version number, like 1.2.3."
    )
    assert refusal_text(InvalidRequest("scheduled_time: in the past", body={"scheduled_time": ["x"]})) is None


# ----------------------------------------------------------------------------------- scheduling's rules


def settings(**overrides) -> Settings:
    return Settings(_env_file=None, approval_channel="C0APPROVE", **overrides)  # type: ignore[call-arg]


def test_rules_with_a_catalogue_override_the_settings(catalogue) -> None:
    rules = OperationRules(settings(approval_required_for="*", window_policy="warn"), catalogue)
    assert rules.names == ["firmware_update", "reboot", "open_type"]
    assert rules.approval_required("reboot") is False, "the type says no approval"
    assert rules.approval_required("open_type") is True, "the type says nothing: APPROVAL_REQUIRED_FOR"
    assert rules.window_policy("reboot").value == "block"
    assert rules.window_policy("firmware_update").value == "warn"
    quick = rules.read("firmware update", "target_version=1.x retries=3")
    assert quick.operation_type == "firmware_update"
    assert quick.errors == {"parameters": "Parameter target_version: must match ^\\d+\\.\\d+(\\.\\d+)?$ (like 1.10.2) "
                            "(got 1.x)."}  # fmt: skip
    fields = rules.read("firmware_update", "", {"target_version": "", "retries": "7", "restart_required": False})
    assert set(fields.errors) == {"parameters.target_version", "parameters.retries"}


def test_rules_without_a_catalogue_are_as_before() -> None:
    rules = OperationRules(settings(operation_types="reboot,custom_thing", approval_required_for="custom_thing"))
    assert rules.names == ["reboot", "custom_thing"]
    free = rules.read("reboot", "anything=goes retries=3")
    assert free.errors == {} and free.parameters == {"anything": "goes", "retries": "3"}
    assert rules.approval_required("custom_thing") and not rules.approval_required("reboot")


def test_validate_applies_the_types_window_policy(catalogue) -> None:
    now = datetime(2030, 1, 2, 12, 0, tzinfo=UTC)  # a Wednesday noon, outside the window
    config = settings(maintenance_windows="Sat,Sun 02:00-06:00 UTC", window_policy="warn")
    service = SchedulingService(config, None, None, clock=lambda: now, rules=OperationRules(config, catalogue))  # type: ignore[arg-type]
    when = (now + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M UTC")
    with pytest.raises(FormErrors) as caught:
        service.validate(ScheduleForm(serials="SN123456789", operation_type="reboot", when=when), tz="UTC")
    assert "maintenance window" in caught.value.errors["when"]
    draft = service.validate(
        ScheduleForm(serials="SN123456789", operation_type="firmware_update", when=when,
                     parameters="target_version=1.2 retries=2"), tz="UTC",
    )  # fmt: skip
    assert draft.parameters == {"target_version": "1.2", "retries": 2, "restart_required": True}
    assert draft.approval_required and draft.window_inside is False


# --------------------------------------------------------------------------------------------- the modal


def test_one_field_per_parameter(catalogue) -> None:
    blocks = ob.parameter_blocks(firmware(catalogue))
    assert blocks[0]["block_id"] == ob.ABOUT_BLOCK
    fields = {b["block_id"]: b for b in blocks[1:]}
    version = fields["param:firmware_update:target_version"]
    assert version["element"]["type"] == "plain_text_input" and version["optional"] is False
    assert version["hint"]["text"].startswith("Required. The version")
    restart = fields["param:firmware_update:restart_required"]
    assert restart["element"]["type"] == "checkboxes" and restart["element"]["initial_options"]
    retries = fields["param:firmware_update:retries"]["element"]
    assert retries["type"] == "number_input" and retries["is_decimal_allowed"] is False
    assert (retries["initial_value"], retries["min_value"], retries["max_value"]) == ("1", "0", "5")
    channel = fields["param:firmware_update:channel"]["element"]
    assert channel["type"] == "static_select" and [o["value"] for o in channel["options"]] == [
        '"stable"',
        '"beta"',
        "3",
    ]


def test_fields_read_back_and_errors_go_to_them(catalogue) -> None:
    values = {
        "param:firmware_update:target_version": {"value": {"type": "plain_text_input", "value": "1.2"}},
        "param:firmware_update:retries": {"value": {"type": "number_input", "value": None}},
        "param:firmware_update:restart_required": {"value": {"type": "checkboxes", "selected_options": []}},
        "param:firmware_update:channel": {"value": {"type": "static_select", "selected_option": {"value": "3"}}},
        "param:reboot:stale": {"value": {"type": "plain_text_input", "value": "x"}},
    }
    assert read_parameter_fields(values, "firmware_update") == {
        "target_version": "1.2", "retries": None, "restart_required": False, "channel": 3,
    }  # fmt: skip
    assert read_parameter_fields(values, "open_type") is None
    modal = {"blocks": [{"type": "input", "block_id": "operation_type"}, {"type": "input", "block_id": "when"}]}
    view = with_type(modal, firmware(catalogue))
    assert [b["block_id"] for b in view["blocks"]][:3] == [
        "operation_type",
        ob.ABOUT_BLOCK,
        "param:firmware_update:target_version",
    ]
    assert view["blocks"][-1]["block_id"] == "when", "the other blocks stay as they were"
    mapped = error_blocks({"parameters.retries": "bad", "parameters.gone": "x", "when": "w"}, view, "firmware_update")
    assert mapped == {"param:firmware_update:retries": "bad", "operation_type": "x", "when": "w"}


def test_approval_required_for_may_name_the_files_own_types(tmp_path: Path) -> None:
    path = tmp_path / "ops.yaml"
    path.write_text("site_survey: {description: Walk the site.}\nreboot: {}\n")
    config = settings(operations_file=str(path), approval_required_for="site_survey")
    catalogue = load_operations(config)
    assert catalogue is not None and OperationRules(config, catalogue).approval_required("site_survey")
    assert not OperationRules(config, catalogue).approval_required("reboot")
    with pytest.raises(OperationsFileError, match=r"APPROVAL_REQUIRED_FOR names types that are not in it: nope$"):
        load_operations(settings(operations_file=str(tmp_path / "ops.yaml"), approval_required_for="reboot,nope"))
    assert load_operations(settings()) is None
