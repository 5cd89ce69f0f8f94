"""Files in the pretend workspace: what a person uploads through a modal's ``file_input``, ``files.info`` about
it, and its bytes served at ``url_private`` / ``url_private_download`` to a request with a token that may read it.

Slack answers a download without a valid ``Authorization: Bearer`` token not with a 401 but with its sign-in page
(``200``, ``text/html``); the stand-in does the same, so a bot that forgets the token (or holds a wrong one) meets
what it would meet in Slack. ``file_tokens`` narrows which tokens may download (``None``: every token the Web API
accepts), to test a token that ``files.info`` accepts but the file server does not.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .records import RecordedCall, SlackApiFailure

SIGN_IN_PAGE = "<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"
_FILETYPES = {"csv": ("csv", "text/csv"), "txt": ("text", "text/plain"), "json": ("json", "application/json")}


@dataclass
class StoredFile:
    id: str
    name: str
    content: bytes
    filetype: str
    mimetype: str
    user: str
    created: int

    def to_json(self, base_url: str, team_id: str) -> dict[str, Any]:
        """The file object as ``files.info`` (and a ``file_input``'s state) shows it."""
        path = f"{base_url}/files-pri/{team_id}-{self.id}"
        name = quote(self.name)
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.name,
            "mimetype": self.mimetype,
            "filetype": self.filetype,
            "pretty_type": self.filetype.upper() if self.filetype == "csv" else self.filetype.title(),
            "user": self.user,
            "user_team": team_id,
            "editable": False,
            "size": len(self.content),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "public_url_shared": False,
            "url_private": f"{path}/{name}",
            "url_private_download": f"{path}/download/{name}",
            "permalink": f"{base_url}/files/{self.user}/{self.id}/{name}",
            "channels": [],
            "groups": [],
            "ims": [],
        }


class Files:
    """The files part of ``SlackWebApiStub`` (a mixin: the stub's ``__init__`` sets ``files`` and ``file_tokens``)."""

    team_id: str
    public_url: str | None
    valid_tokens: set[str]
    files: dict[str, StoredFile]
    file_tokens: set[str] | None
    _lock: threading.RLock
    _id_counter: itertools.count[int]

    def put_file(
        self,
        content: bytes | str,
        *,
        name: str = "devices.csv",
        filetype: str | None = None,
        mimetype: str | None = None,
        user: str = "W111",
    ) -> dict[str, Any]:
        """A file ``user`` uploaded (as through a ``file_input``); returns its file object. ``filetype`` and
        ``mimetype`` follow the name's extension unless given (Slack's ``csv`` / ``text``)."""
        data = content.encode() if isinstance(content, str) else bytes(content)
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        guessed_type, guessed_mime = _FILETYPES.get(extension, ("binary", "application/octet-stream"))
        file_id = f"F{0x0A000000 + next(self._id_counter):08X}"
        stored = StoredFile(
            file_id, name, data, filetype or guessed_type, mimetype or guessed_mime, user, int(time.time())
        )
        with self._lock:
            self.files[file_id] = stored
            return stored.to_json(self._files_base(), self.team_id)

    def file_input_value(self, *files: dict[str, Any] | str) -> dict[str, Any]:
        """A ``file_input``'s value in a view submission's ``state.values`` (file objects, or ids of held files)."""
        shown = []
        with self._lock:
            for item in files:
                if isinstance(item, str):
                    item = self.files[item].to_json(self._files_base(), self.team_id)
                shown.append(copy.deepcopy(item))
        return {"type": "file_input", "files": shown}

    def _files_base(self) -> str:
        return self.public_url or "https://files.slack.com"

    # -- Web API

    def _m_files_info(self, call: RecordedCall) -> dict[str, Any]:
        stored = self.files.get(str(call.body.get("file") or ""))
        if stored is None:
            raise SlackApiFailure("file_not_found")
        return {
            "ok": True,
            "file": stored.to_json(self._files_base(), self.team_id),
            "comments": [],
            "response_metadata": {"next_cursor": ""},
        }

    # -- the file server

    async def _file_endpoint(self, request: Request) -> Response:
        """``/files-pri/<team>-<file>/[download/]<name>``: the bytes for a token that may read them, else Slack's
        sign-in page."""
        key = request.path_params["key"]
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        with self._lock:
            allowed = self.file_tokens if self.file_tokens is not None else self.valid_tokens
            stored = self.files.get(key.rsplit("-", 1)[-1])
            if not token or token not in allowed:
                return HTMLResponse(SIGN_IN_PAGE)
            if stored is None or not key.startswith(f"{self.team_id}-"):
                return Response("File not found", status_code=404, media_type="text/plain")
            content, mimetype = stored.content, stored.mimetype
        return Response(content, media_type=mimetype, headers={"cache-control": "private, no-store"})
