"""What every listener needs, typed, in one frozen object: bolt hands it to a listener that asks for ``deps``.

``bot.slack.app.build_app`` puts it into each request's context with a middleware; bolt passes context keys to
listeners by argument name (``async def handle_x(ack, body, deps: SlackDeps)``), so listeners need no global and
no runtime object.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.metrics import Metrics
from bot.services.access import AccessControl
from bot.services.approvals import Approvals
from bot.services.inventory import InventoryFile
from bot.services.languages import Languages
from bot.services.operations import OperationsService
from bot.services.ports import Directory
from bot.services.rollouts import RolloutsService
from bot.services.scheduling import SchedulingService
from bot.services.watches import WatchService
from bot.settings import Settings
from bot.slack.home import HomePublisher
from bot.slack.messenger import SlackMessenger
from bot.slack.web import SlackWeb
from bot.tasks import Tasks


@dataclass(frozen=True)
class SlackDeps:
    settings: Settings
    operations: OperationsService
    scheduling: SchedulingService
    approvals: Approvals
    watches: WatchService
    directory: Directory
    metrics: Metrics
    tasks: Tasks
    web: SlackWeb
    messenger: SlackMessenger  # direct messages outside the approval workflow (a failed modal submission…)
    clock: Clock
    access: AccessControl  # ACCESS_RULES / ACCESS_FILE: who may do what, where (unrestricted without rules)
    languages: Languages  # which language each reader (and each channel) gets
    inventory: InventoryFile | None = None  # INVENTORY_FILE, when set
    rollouts: RolloutsService | None = None  # staged rollouts (a process that answers Slack)
    home: HomePublisher | None = None  # the App Home (``bot.slack.home``)

    @property
    def deadline(self) -> float:
        """How long a lookup's answer may take before the person reads that it failed."""
        return self.settings.control_api_timeout_seconds * 2.5

    @property
    def refresh_deadline(self) -> float:
        return self.settings.control_api_refresh_timeout_seconds + 5
