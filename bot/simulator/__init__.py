"""A faithful stand-in of the Zequenze Control API, for tests, the local console and benchmarks.

``create_app(config, state=...)`` is the ASGI app; ``SimulatorState`` is its world (inventory, operations,
clock, faults) and can be driven from Python; ``run_simulator`` serves it with uvicorn for people.
See ``bot.simulator.app`` for the endpoints and ``bot.simulator.state`` for how devices and operations behave.
"""

from __future__ import annotations

import gc
import secrets
import sys
from typing import Any

from bot.simulator.app import API_PATH, API_PREFIX, ENDPOINT, create_app
from bot.simulator.config import Faults, SimulatorConfig
from bot.simulator.state import DOCUMENTED_SERIAL, ManualClock, SimDevice, SimOperation, SimulatorState


def run_simulator(port: int, token: str | None, host: str = "127.0.0.1", **config_overrides: Any) -> None:
    """Serve the simulator until interrupted (``headless-bot simulator``).

    Without a token, a demo token is generated and printed with a ready-to-paste curl command; a token that
    was given is never printed (it may be a real one reused from the environment). ``config_overrides`` are
    ``SimulatorConfig`` fields; ``None`` values mean "the default".
    """
    import uvicorn  # local: only the CLI needs the server

    generated = token is None
    token = token if token is not None else "demo-" + secrets.token_urlsafe(18)
    overrides = {key: value for key, value in config_overrides.items() if value is not None}
    config = SimulatorConfig(token=token, **overrides)
    app = create_app(config)
    gc.freeze()  # the preseeded world lives as long as the process: keep its objects out of full collections
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - only for display
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    base = f"http://{shown_host}:{port}{API_PREFIX}"
    shown_token = token if generated else "$CONTROL_API_TOKEN"
    lines = [
        f"Zequenze Control API simulator on {base}",
        f"  inventory: {DOCUMENTED_SERIAL} and {config.extra_devices} more devices (seed {config.seed})",
    ]
    if generated:
        lines.append(f"  demo token: {token}   (choose one with --token or CONTROL_API_TOKEN)")
    lines += [
        "  try:",
        f'    curl -H "Authorization: Bearer {shown_token}" \\\n         "{base}/{ENDPOINT}"',
        f"  point the bot at it: CONTROL_API_URL={base} CONTROL_API_TOKEN={shown_token}",
        f"  admin: http://{shown_host}:{port}/_simulator/{{faults,devices,state,advance}} (same token)",
    ]
    print("\n".join(lines), flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info")
    except KeyboardInterrupt:  # pragma: no cover - uvicorn normally handles Ctrl-C itself
        print("simulator stopped", file=sys.stderr)


__all__ = [
    "API_PATH",
    "API_PREFIX",
    "DOCUMENTED_SERIAL",
    "Faults",
    "ManualClock",
    "SimDevice",
    "SimOperation",
    "SimulatorConfig",
    "SimulatorState",
    "create_app",
    "run_simulator",
]
