"""The times of a schedule request: how far ahead it must be decided, what its time text means (in the person's
zone, or device-local: in each device's zone), the maintenance windows, and the modal's live preview.

``ScheduleTimes`` is a part of ``SchedulingService`` (its ``_settings``, ``_clock``, ``_inventory`` and ``rules``),
kept in its own module by concern, as ``Creation`` is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.clock import Clock
from bot.domain.inventory import Inventory
from bot.i18n import _
from bot.services import lead
from bot.services.device_time import (
    DeviceTimes,
    WindowCheckFacts,
    ZoneGroup,
    ZoneWindows,
    device_times,
    device_zones,
    local_preview,
    same_time_groups,
    zone_windows,
)
from bot.services.inputs import InputError
from bot.services.lead import creation_time
from bot.services.operation_types import OperationRules
from bot.services.schedule_form import Preview
from bot.services.targets import Targets, parse_targets
from bot.settings import Settings
from bot.when import (
    WhenError,
    check_window,
    date_order_for_locale,
    format_preview,
    has_device_windows,
    parse_when,
    split_device_local,
)


class ScheduleTimes:
    _settings: Settings
    _clock: Clock
    _inventory: Callable[[], Inventory | None]
    rules: OperationRules

    @property
    def min_lead(self) -> timedelta:
        """How far ahead of its scheduled time a request must be decided (``MIN_LEAD_SECONDS``)."""
        return timedelta(seconds=self._settings.min_lead_seconds)

    def lead_for(self, devices: int, *, rate: float | None = None) -> timedelta:
        """How far ahead a request of ``devices`` must be decided: ``MIN_LEAD_SECONDS``, plus the time its
        creation takes at ``rate`` a minute (``CREATE_RATE_PER_MINUTE``): the last operation must still be created
        before its time."""
        return self.min_lead + creation_time(devices, rate or self._settings.create_rate_per_minute)

    def is_device_local(self, text: str) -> bool:
        """Does ``text`` ask for device-local time (``02:00 device-local``, or ``next window`` when the windows
        are in device time)?"""
        settings = self._settings
        return split_device_local(text, windows=settings.windows, languages=settings.when_languages).device_local

    def device_local(
        self, text: str, targets: Targets, *, tz: str, now: datetime, locale: str | None = None
    ) -> DeviceTimes:
        """Each device's instant for a device-local ``text``, read in its zone (``InputError`` for devices with
        no zone and no ``DEVICE_ZONE_DEFAULT``; ``WhenError`` for a phrase refused in some zone)."""
        settings = self._settings
        zones = device_zones(targets.serials, targets.zones, settings.device_zone_default)
        return device_times(
            text, zones, tz=tz, now=now, languages=tuple(settings.when_languages),
            horizon=timedelta(days=settings.when_horizon_days), locale=locale, windows=settings.windows,
            if_past=settings.device_local_if_past.value,
        )  # fmt: skip

    def _check_windows(
        self, when: datetime, local: DeviceTimes | None, targets: Targets | None, *, tz: str, operation_type: str = ""
    ) -> ZoneWindows | WindowCheckFacts:
        """The maintenance-window check: per zone for device-local times and for windows in device time (when
        every device's zone is known), else the one instant against the windows."""
        settings = self._settings
        policy = self.rules.window_policy(operation_type).value
        groups: tuple[ZoneGroup, ...] = local.groups if local is not None else ()
        if not groups and targets is not None and has_device_windows(settings.windows):
            known = {s: z for s in targets.serials if (z := targets.zones.get(s) or settings.device_zone_default)}
            if len(known) == len(targets.serials):
                groups = same_time_groups(when, known)
        if groups:
            return zone_windows(groups, settings.windows, policy, tz=tz)
        check = check_window(when, settings.windows, policy, tz=tz)
        return WindowCheckFacts(
            inside=check.inside, blocked=check.blocked, needs_approval=check.needs_approval, message=check.message
        )

    def parse_time(self, text: str, *, tz: str, now: datetime, locale: str | None = None) -> datetime:
        """``parse_when`` with this deployment's languages, horizon and windows."""
        settings = self._settings
        return parse_when(
            text,
            tz=tz,
            now=now,
            languages=tuple(settings.when_languages),
            horizon=timedelta(days=settings.when_horizon_days),
            date_order=date_order_for_locale(locale),
            windows=settings.windows,
        )

    def preview(self, text: str, *, tz: str, locale: str | None = None) -> tuple[str, bool]:
        """The live preview line for the modal: (text, ok)."""
        shown = self.preview_at(text, tz=tz, locale=locale)
        return shown.line, shown.ok

    def preview_at(
        self, text: str, *, tz: str, locale: str | None = None, operation_type: str = "", serials: str = ""
    ) -> Preview:
        """The live preview, with the instant it shows (Submit compares what ``text`` means then with it);
        ``operation_type``: the type chosen so far, whose own window policy the preview then says. A device-local
        ``text`` is read in the zones of the devices in ``serials`` (the form's Devices field)."""
        if not text.strip():
            return Preview(line=_("Type when, e.g. “tomorrow 2am”, “in 3 hours”, “next window”."), ok=False)
        now = self._clock()
        try:
            if self.is_device_local(text):
                return self._local_preview(text, serials, tz=tz, locale=locale, now=now, operation_type=operation_type)
            when = self.parse_time(text, tz=tz, now=now, locale=locale)
        except WhenError as exc:
            return Preview(line=str(exc), ok=False)
        too_close = lead.form_problem(when, now, self.min_lead, tz=tz)
        if too_close is not None:
            return Preview(line=too_close, ok=False)
        line = self._preview_line(when, tz=tz, now=now, operation_type=operation_type)
        return Preview(line=line, ok=True, at=when)

    def _local_preview(
        self, text: str, serials: str, *, tz: str, locale: str | None, now: datetime, operation_type: str
    ) -> Preview:
        settings = self._settings
        try:
            targets = parse_targets(
                serials, self._inventory(), limit=settings.max_devices_per_request, strict=settings.inventory_strict
            )
            local = self.device_local(text, targets, tz=tz, locale=locale, now=now)
        except InputError as exc:
            if not serials.strip():
                fill_in = _("Device-local time is read in each device's zone: fill in the devices.")
                return Preview(line=fill_in, ok=False)
            return Preview(line=str(exc), ok=False)
        line = local_preview(local, tz=tz, now=now)
        too_close = lead.form_problem(local.earliest, now, self.lead_for(len(local.item_times)), tz=tz)
        if too_close is not None:
            return Preview(line=too_close, ok=False)
        if settings.windows:
            check = self._check_windows(local.earliest, local, targets, tz=tz, operation_type=operation_type)
            line = f"{line}\n{check.message}"
        return Preview(line=line, ok=True, at=local.earliest)

    def _preview_line(self, when: datetime, *, tz: str, now: datetime, operation_type: str = "") -> str:
        line = format_preview(when, tz=tz, now=now)
        if self._settings.windows:
            policy = self.rules.window_policy(operation_type).value
            check = check_window(when, self._settings.windows, policy, tz=tz)
            line = f"{line}\n{check.message}"
        return line


__all__ = ["ScheduleTimes"]
