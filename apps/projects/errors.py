"""Errors raised by services and gatekeepers, shown to users in the domain's words."""

from typing import Any


class DomainError(Exception):
    """A rule of the platform refused an action; the message is safe to show the user."""

    code = "invalid"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class NotFoundError(DomainError):
    """The object does not exist for this user (also used when they may not know it exists)."""

    code = "not_found"
    http_status = 404

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message)


class ForbiddenError(DomainError):
    """The user is a member but their role does not allow the action."""

    code = "forbidden"
    http_status = 403


class ConflictError(DomainError):
    """The action lost a race: the object changed since the user loaded it."""

    code = "conflict"
    http_status = 409


class ImportFailed(DomainError):
    """An import was refused as a whole; details lists every problem with file and line."""

    code = "import_failed"
    http_status = 400

    @classmethod
    def listing(cls, issues, *, lead: str = "Nothing was imported") -> "ImportFailed":
        """Build the error from issues that have file, line, field and message attributes.

        The message names the first problem and how many more there are; details carries
        all of them, so the page and the API can show every file and line.
        """
        details = [
            {"file": i.file, "line": i.line, "field": i.field, "message": i.message} for i in issues
        ]
        first = details[0]
        where = f"{first['file']}:{first['line']}" if first["line"] else first["file"]
        field = f" {first['field']}:" if first.get("field") else ""
        more = f" (and {len(details) - 1} more problems)" if len(details) > 1 else ""
        return cls(f"{lead}: {where}:{field} {first['message']}{more}", details=details)
