"""A CSV of devices uploaded in the scheduling modal (its ``file_input``): read before the submission's ack, so a
bad file is refused inline on its own field.

The submission's state holds the file's id; ``files.info`` (the bot token, through the one sender) says its name,
type, size and ``url_private_download``; the bytes are fetched with ``Authorization: Bearer <bot token>``, only from
Slack's file host (or the host the Web API is served from: the local stand-in), never following a redirect with the
token, and capped at ``MAX_UPLOAD_BYTES``. The serial column is read by ``bot.domain.serial_csv``; the serials join
what was typed in the serials field, one a line, and the request validates them all as typed ones.

Everything must fit in Slack's 3 s for the ack: one try, ``UPLOAD_TIMEOUT`` seconds in all. Nothing here logs the
token or the file's address.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.domain.serial_csv import SerialCsvError, serials_from_csv
from bot.i18n import N_, _
from bot.services.scheduling import ScheduleForm
from bot.slack.blocks.scheduling import FILE_ACTION, FILE_BLOCK, UPLOAD_LIMIT_MB
from bot.slack.web import RetryPolicy, SlackWeb

log = logging.getLogger("bot.slack.uploads")

MAX_UPLOAD_BYTES = UPLOAD_LIMIT_MB * 1024 * 1024
UPLOAD_TIMEOUT = 2.0  # seconds for files.info and the download together, inside Slack's 3 s for the ack
READABLE_TYPES = frozenset({"csv", "text"})  # Slack's filetype of .csv and .txt uploads
READABLE_EXTENSIONS = (".csv", ".txt")
SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
FILES_INFO = RetryPolicy(attempts=1)

_WHAT_TO_UPLOAD = N_("Upload a .csv (or .txt) file with a header line naming a serial column.")


class UploadError(Exception):
    """A file that cannot be used; the message says what to do (plain text, shown on the file field)."""


def uploaded_file_ids(view: dict[str, Any]) -> list[str]:
    """The ids of the files in the modal's ``file_input`` (none when the field is missing or of another shape)."""
    values = view.get("state", {}).get("values", {}) if isinstance(view.get("state"), dict) else {}
    block = values.get(FILE_BLOCK) if isinstance(values, dict) else None
    field = block.get(FILE_ACTION) if isinstance(block, dict) else None
    files = field.get("files") if isinstance(field, dict) else None
    if not isinstance(files, list):
        return []
    return [f["id"] for f in files if isinstance(f, dict) and isinstance(f.get("id"), str) and f["id"]][:10]


async def with_uploaded_serials(web: SlackWeb, form: ScheduleForm, view: dict[str, Any]) -> ScheduleForm:
    """``form`` with the uploaded file's serials after the typed ones (one a line); ``UploadError`` if unusable."""
    file_ids = uploaded_file_ids(view)
    if not file_ids:
        return form
    try:
        async with asyncio.timeout(UPLOAD_TIMEOUT):
            serials = [s for file_id in file_ids for s in await read_serials(web, file_id)]
    except TimeoutError:
        log.warning("reading an uploaded file took longer than %.1f s", UPLOAD_TIMEOUT)
        raise UploadError(_("Slack did not hand over the file in time. Submit again in a moment.")) from None
    typed = form.serials.strip()
    joined = "\n".join([typed, *serials] if typed else serials)
    return form.model_copy(update={"serials": joined})


async def read_serials(web: SlackWeb, file_id: str) -> list[str]:
    """The serials of one uploaded file."""
    info = await web.call("files_info", FILES_INFO, file=file_id)
    if not info.ok:
        log.warning("files.info for an uploaded file failed: %s", info.error)
        raise UploadError(_info_failure(info.error))
    file = info.data.get("file")
    if not isinstance(file, dict):
        raise UploadError(_("Slack did not describe the file. Upload it again."))
    name = str(file.get("name") or _("the file"))[:80]
    filetype = str(file.get("filetype") or "").lower()
    if filetype not in READABLE_TYPES and not name.lower().endswith(READABLE_EXTENSIONS):
        kind = file.get("pretty_type") or filetype or _("unknown type")
        not_csv = _("{name} is not a CSV ({kind}).").format(name=name, kind=kind)
        raise UploadError(f"{not_csv} {_(_WHAT_TO_UPLOAD)}")
    size = file.get("size")
    if isinstance(size, int) and size > MAX_UPLOAD_BYTES:
        raise UploadError(_too_big(name))
    url = file.get("url_private_download") or file.get("url_private")
    if not isinstance(url, str) or not _trusted(url, str(web.client.base_url)):
        log.warning("an uploaded file's address is not on Slack's file host; not fetched")
        raise UploadError(_("Slack gave no address the bot may fetch the file from. Upload it again."))
    content = await _download(web, url, name)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadError(
            _("{name} is not UTF-8 text. Save it as CSV (UTF-8) and upload it again.").format(name=name)
        ) from None
    try:
        return serials_from_csv(text)
    except SerialCsvError as exc:
        raise UploadError(f"{name}: {exc}") from None


def _info_failure(error: str) -> str:
    if error in ("file_not_found", "file_deleted"):
        return _("The file is gone from Slack. Upload it again.")
    if error in ("missing_scope", "not_allowed_token_type", "no_permission"):
        return _("The bot may not read uploaded files (it needs the files:read scope). Ask whoever runs it.")
    if error in ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"):
        return _("The bot could not read the file: Slack refused its token. Ask whoever runs the bot to check it.")
    return _("The bot could not read the file from Slack ({error}). Submit again in a moment.").format(
        error=error or _("no answer")
    )


def _too_big(name: str) -> str:
    return _(
        "{name} is larger than {limit} MB. Upload only the serial column, or split the devices over requests."
    ).format(name=name, limit=UPLOAD_LIMIT_MB)


def _trusted(url: str, api_base: str) -> bool:
    """May the bot token go to ``url``: Slack's file host over https, or the host the Web API itself is on."""
    target, api = urlsplit(url), urlsplit(api_base)
    if target.scheme == "https" and target.hostname in SLACK_FILE_HOSTS:
        return True
    return bool(target.netloc) and (target.scheme, target.netloc) == (api.scheme, api.netloc)


async def _download(web: SlackWeb, url: str, name: str) -> bytes:
    headers = {"Authorization": f"Bearer {web.client.token}"}
    own = web.session is None
    session = aiohttp.ClientSession(trust_env=False) if own else web.session
    assert session is not None
    try:
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            if response.status != 200:
                log.warning("downloading an uploaded file answered HTTP %s", response.status)
                raise UploadError(
                    _("Slack did not hand over {name} (HTTP {status}). Upload it again.").format(
                        name=name, status=response.status
                    )
                )
            if response.content_type == "text/html":  # Slack's sign-in page: the token may not read it
                log.warning("downloading an uploaded file gave Slack's sign-in page (token or files:read scope)")
                raise UploadError(
                    _(
                        "Slack did not let the bot read the file (its token or the files:read scope). "
                        "Ask whoever runs the bot to check it; meanwhile, paste the serials instead."
                    )
                )
            if (response.content_length or 0) > MAX_UPLOAD_BYTES:
                raise UploadError(_too_big(name))
            content = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                content += chunk
                if len(content) > MAX_UPLOAD_BYTES:
                    raise UploadError(_too_big(name))
            return bytes(content)
    except aiohttp.ClientError as exc:
        log.warning("downloading an uploaded file failed: %s", type(exc).__name__)
        raise UploadError(_("The bot could not download the file from Slack. Submit again in a moment.")) from None
    finally:
        if own:
            await session.close()
