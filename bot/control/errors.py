"""The Control API's failures as a small hierarchy of typed errors.

Callers branch on the *kind* of failure (the id is wrong, the token is wrong, the API is down), never on
status codes or httpx exceptions, and one place (``bot.slack.wording``) turns each kind into words for a
person. So every error here carries the facts that place needs as attributes, and its ``str()`` is already a
plain sentence fit for a log line.

None of these ever holds the API token: messages are built from the operation id, the device serial, the
API's own error text and a short reason, and the client scrubs the token out of anything the server echoes.
"""

from __future__ import annotations


class ControlApiError(Exception):
    """Anything that went wrong talking to the Control API.

    ``status_code`` is the HTTP status when there was a response, ``None`` when there was none (timeout,
    refused connection). Catch this to handle every Control API failure at once.
    """

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, status_code={self.status_code!r})"


class Unauthorized(ControlApiError):
    """The API rejected the token (401), or accepted it but refused the action (403).

    Retrying cannot help; an admin has to fix ``CONTROL_API_TOKEN``.
    """

    def __init__(self, message: str | None = None, *, status_code: int | None = 401) -> None:
        if message is None:
            message = (
                "The Control API refused the token's permissions for this action."
                if status_code == 403
                else "The Control API rejected the token."
            )
        super().__init__(message, status_code=status_code)


class OperationNotFound(ControlApiError):
    """No operation with this id (a 404, or a 200 with no matching result, on GET by id)."""

    def __init__(self, operation_id: str, *, status_code: int | None = 404) -> None:
        self.operation_id = operation_id
        super().__init__(f"The Control API has no operation with id {operation_id!r}.", status_code=status_code)


class DeviceNotFound(ControlApiError):
    """The device serial is not in the inventory (404 on POST); nothing was created."""

    def __init__(self, device_serial: str, *, status_code: int | None = 404) -> None:
        self.device_serial = device_serial
        super().__init__(
            f"The Control API has no device with serial number {device_serial!r} in its inventory.",
            status_code=status_code,
        )


class InvalidRequest(ControlApiError):
    """The API refused the request's data (400). ``detail`` is the API's own explanation, as one line; ``body`` its
    JSON answer (DRF's ``{"field": ["message"]}``), to map a refusal back to the field it names."""

    def __init__(self, detail: str, *, status_code: int | None = 400, body: object = None) -> None:
        self.detail = detail
        self.body = body
        super().__init__(f"The Control API refused the request: {detail}", status_code=status_code)


class ControlApiUnavailable(ControlApiError):
    """The API cannot be used right now: 5xx, timeout, refused or dropped connection, or an answer that is
    not the JSON it documents (that one is the subclass ``UnexpectedAnswer``). ``reason`` is a short phrase
    ("connection refused", "HTTP 503") for logs and people.

    ``outcome_unknown`` is ``True`` only for a create (POST) whose request may have reached the API before the
    failure (a read timeout, a dropped connection, a 5xx): the operation may or may not exist, so the caller
    must look before trying again. It is ``False`` whenever nothing can have changed (every GET, and a POST
    that failed to connect at all).
    """

    def __init__(self, reason: str, *, status_code: int | None = None, outcome_unknown: bool = False) -> None:
        self.reason = reason
        self.outcome_unknown = outcome_unknown
        message = f"The Control API is unavailable: {reason.rstrip('.')}."
        if outcome_unknown:
            message += " The request may have been applied; check before retrying."
        super().__init__(message, status_code=status_code)


class UnexpectedAnswer(ControlApiUnavailable):
    """The API *did* answer, but not with what it documents: a 2xx whose body is not JSON, a page without
    ``results``, a record that is not an operation, pagination that loops or never ends, a redirect or a missing
    endpoint (a wrong ``CONTROL_API_URL``).

    A kind of ``ControlApiUnavailable`` (the API cannot be used right now, and every caller that handles an outage
    handles this the same way), told apart so nobody is told the API "is not answering" when it answered.
    """

    def __init__(self, reason: str, *, status_code: int | None = None, outcome_unknown: bool = False) -> None:
        super().__init__(reason, status_code=status_code, outcome_unknown=outcome_unknown)
        message = f"The Control API answered, but not in a form the bot can use: {reason.rstrip('.')}."
        if outcome_unknown:
            message += " The request may have been applied; check before retrying."
        self.message = message


class NotJson(UnexpectedAnswer):
    """A 2xx body that is not JSON, found by the decoder a caller gave ``Transport.call(decode=…)``; the transport
    words it with the status (``its answer (HTTP 200) is not valid JSON``) and counts it as ``malformed``, as it does
    for its own decoding."""


__all__ = [
    "ControlApiError",
    "ControlApiUnavailable",
    "DeviceNotFound",
    "InvalidRequest",
    "NotJson",
    "OperationNotFound",
    "Unauthorized",
    "UnexpectedAnswer",
]
