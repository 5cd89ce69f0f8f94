"""What the simulator is told at start (``SimulatorConfig``) and what can be broken at runtime (``Faults``).

Everything has a default that behaves like a healthy API with a small, realistic fleet, so ``create_app()``
works with no arguments; tests and benchmarks turn single knobs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Faults(BaseModel):
    """Failures injected into the API path (``/api/...``); never into the ``/_simulator`` admin endpoints.

    Mutable at runtime from Python (``state.faults.error_rate = 1.0``, validated on assignment) and over HTTP
    (``PUT /_simulator/faults``). They are applied in this order, each to every API request:

    * ``latency``: seconds to sleep before answering.
    * ``hang``: do not answer until the client gives up (disconnects) or ``hang_seconds`` pass.
    * ``close_connection``: drop the TCP connection without an answer (uvicorn: the socket is aborted; under
      another server, headers are sent and the connection is cut mid-body).
    * ``error_rate``: this fraction of requests gets Django's ``500`` HTML page (seeded, so reproducible).
    * ``reject_token``: ``401 {"detail": "Invalid token."}`` even for the right token.
    * ``malformed``: ``200`` with a body that is not valid JSON (only for requests with the right token).
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    latency: float = Field(0.0, ge=0, le=3600)
    error_rate: float = Field(0.0, ge=0, le=1)
    hang: bool = False
    malformed: bool = False
    reject_token: bool = False
    close_connection: bool = False


class SimulatorConfig(Faults):
    """The simulator's fixed settings, plus the ``Faults`` it starts with (same fields, same names). Times are in
    seconds of the simulator's clock."""

    model_config = ConfigDict(validate_assignment=False, extra="forbid")

    token: str = Field(min_length=1, repr=False, description="The Bearer token the API accepts.")
    seed: int = Field(42, description="Seeds the inventory, device drift, outcomes and injected errors.")
    extra_devices: int = Field(20, ge=0, le=100_000, description="Devices besides the documented SN123456789.")
    known_devices: dict[str, str | None] = Field(
        default_factory=dict,
        description="More devices, by serial, with their IANA zone (or None): an inventory's (the console's).",
    )
    failure_rate: float = Field(0.1, ge=0, le=1, description="Share of operations that end 'failed'.")
    offline_rate: float = Field(0.1, ge=0, le=1, description="Share of drift periods a device is offline.")
    refresh_delay: float = Field(2.0, ge=0, le=600, description="Seconds an update_status=true call takes.")
    check_parameters: bool = Field(
        False,
        description="Refuse parameters a device would (400 naming the parameter, as DRF nests them): a "
        "firmware_update's target_version must be a version like 1.2.3.",
    )
    page_size: int | None = Field(None, ge=1, description="Paginate lists; None = only if ?page_size= asks.")
    max_page_size: int = Field(1000, ge=1, description="Largest ?page_size= honoured.")
    run_seconds: float = Field(120.0, ge=0, description="How long an in_progress operation runs.")
    expire_after: float = Field(600.0, ge=0, description="Pending this long after scheduled_time → expired.")
    preseed_operations: int = Field(0, ge=0, le=1_000_000, description="Operations created at start.")
    drift_period: float = Field(300.0, gt=0, description="A device stays online/offline for whole periods.")
    poll_interval: float = Field(
        300.0, gt=0, description="How often the API's own helpers refresh the cached device status."
    )
    past_grace: float = Field(60.0, ge=0, description="How far in the past a scheduled_time is still accepted.")
    hang_seconds: float = Field(300.0, ge=0, description="Longest a 'hang' fault holds a request.")

    def initial_faults(self) -> Faults:
        """The ``Faults`` this configuration starts with."""
        return Faults.model_validate(self.model_dump(include=set(Faults.model_fields)))
