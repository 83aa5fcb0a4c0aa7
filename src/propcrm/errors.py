"""The one exception hierarchy of propcrm.

Every error the library raises on purpose derives from :class:`PropcrmError`, and each also
subclasses the closest built-in (``ValueError``, ``LookupError``, ``PermissionError``) so that
callers who only know the standard library still catch it. Messages say what was wrong, where
(the field path, in JSONPath form such as ``$.events[3].occurred_at``) and, after ``Hint:``, what
to do about it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

__all__ = [
    "AlreadyExistsError",
    "CalendarRangeError",
    "ConcurrencyError",
    "DuplicateIntakeError",
    "FieldError",
    "InvalidTransitionError",
    "NotFoundError",
    "OptionalDependencyError",
    "PermissionDeniedError",
    "PluginError",
    "PropcrmError",
    "StoreError",
    "ValidationError",
]


class PropcrmError(Exception):
    """Base class of every error propcrm raises on purpose.

    Args:
        message: What went wrong, in one sentence.
        hint: What the caller can do about it; appended to the message after ``Hint:``.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}\nHint: {hint}")


@attrs.frozen(kw_only=True)
class FieldError:
    """One bad field: where it is and what is wrong with it.

    Attributes:
        path: JSONPath of the field, for example ``$.events[3].occurred_at``.
        message: What is wrong with the value found there.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.message} @ {self.path}"


class ValidationError(PropcrmError, ValueError):
    """Input was malformed; ``errors`` lists every bad field with its path.

    Nothing is changed when this is raised: validation happens before any state is built.

    Args:
        errors: Every bad field found, in the order found. Never empty.
        subject: What was being validated, e.g. ``"Event"`` or ``"taxonomy row 17"``.
        hint: What to do about it.
    """

    def __init__(
        self,
        errors: Iterable[FieldError],
        *,
        subject: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        if not self.errors:
            self.errors = (FieldError(path="$", message="invalid value"),)
        self.subject = subject
        head = f"invalid {subject}" if subject else "invalid input"
        count = len(self.errors)
        lines = [f"{head}: {count} bad field{'s' if count != 1 else ''}"]
        lines.extend(f"  - {error}" for error in self.errors)
        super().__init__("\n".join(lines), hint=hint)

    @classmethod
    def single(
        cls, path: str, message: str, *, subject: str | None = None, hint: str | None = None
    ) -> ValidationError:
        """Build an error about one field."""
        return cls([FieldError(path=path, message=message)], subject=subject, hint=hint)

    @property
    def paths(self) -> tuple[str, ...]:
        """The JSONPaths of every bad field."""
        return tuple(error.path for error in self.errors)


class InvalidTransitionError(PropcrmError):
    """A lifecycle command was refused; the ticket is left exactly as it was.

    Args:
        ticket_id: The ticket the command was for (``None`` when no ticket exists yet).
        status: The ticket's status when the command arrived (``None`` when no ticket exists).
        command: The name of the refused command, e.g. ``"close"``.
        reason: Why the rules refused it.
        hint: What would make the command acceptable.
    """

    def __init__(
        self,
        *,
        ticket_id: str | None,
        status: str | None,
        command: str,
        reason: str,
        hint: str | None = None,
    ) -> None:
        self.ticket_id = ticket_id
        self.status = status
        self.command = command
        self.reason = reason
        where = f"ticket {ticket_id!r} in status {status!r}" if ticket_id else "no ticket"
        super().__init__(f"command {command!r} refused for {where}: {reason}", hint=hint)


class ConcurrencyError(PropcrmError):
    """A write was based on a stale version (optimistic concurrency); nothing was written.

    Args:
        ticket_id: The ticket being written.
        expected_version: The version the writer read.
        actual_version: The version the store holds (``None`` if unknown).
    """

    def __init__(
        self, *, ticket_id: str, expected_version: int, actual_version: int | None
    ) -> None:
        self.ticket_id = ticket_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        super().__init__(
            f"ticket {ticket_id!r} is at version {actual_version}, "
            f"not the expected {expected_version}; nothing was written",
            hint="reload the ticket, decide the command again and retry the save",
        )


class DuplicateIntakeError(ConcurrencyError):
    """An intake reused an idempotency key: the request already made a ticket; nothing was written.

    Args:
        ticket_id: The ticket the refused intake tried to create.
        idempotency_key: The key that was already used.
        existing_ticket_id: The ticket the key already made.
    """

    def __init__(self, *, ticket_id: str, idempotency_key: str, existing_ticket_id: str) -> None:
        self.idempotency_key = idempotency_key
        self.existing_ticket_id = existing_ticket_id
        PropcrmError.__init__(
            self,
            f"intake key {idempotency_key!r} already made ticket {existing_ticket_id!r}; "
            f"ticket {ticket_id!r} was not created",
            hint="treat the existing ticket as the result of this submission",
        )
        self.ticket_id = ticket_id
        self.expected_version = 0
        self.actual_version = None


class AlreadyExistsError(ConcurrencyError):
    """A command that creates an aggregate named an id its company already uses; nothing written.

    Deciding the command again cannot help: choose another id, or load the existing aggregate.

    Args:
        kind: What was created, e.g. ``"delivery batch"`` or ``"customer"``.
        key: The id that is taken (also in ``ticket_id``, as for every ``ConcurrencyError``).
        actual_version: The existing aggregate's version, when known.
    """

    def __init__(self, *, kind: str, key: str, actual_version: int | None = None) -> None:
        self.kind = kind
        self.key = key
        self.ticket_id = key
        self.expected_version = 0
        self.actual_version = actual_version
        PropcrmError.__init__(
            self,
            f"{kind} {key!r} already exists; nothing was written",
            hint=f"choose another id, or load the existing {kind}",
        )


class NotFoundError(PropcrmError, LookupError):
    """Something looked up by key does not exist.

    Args:
        kind: What was looked up, e.g. ``"taxonomy code"`` or ``"ticket"``.
        key: The key that was not found.
        suggestions: The closest existing keys, named in the hint.
        hint: What to do, when the suggestions do not say enough.
    """

    def __init__(
        self,
        kind: str,
        key: object,
        *,
        suggestions: Sequence[str] = (),
        hint: str | None = None,
    ) -> None:
        self.kind = kind
        self.key = key
        self.suggestions = tuple(suggestions)
        if hint is None and self.suggestions:
            hint = "did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(f"unknown {kind}: {key!r}", hint=hint)


class OptionalDependencyError(PropcrmError, ImportError):
    """An optional dependency needed for this feature is not installed.

    Args:
        module: The import name that failed.
        extra: The propcrm extra that installs it.
        feature: What needed it.
    """

    def __init__(self, module: str, *, extra: str, feature: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{feature} needs the optional package {module!r}, which is not installed",
            hint=f'pip install "propcrm[{extra}]"',
        )


class PermissionDeniedError(PropcrmError, PermissionError):
    """An actor tried something its role or organisation scope does not allow."""


class PluginError(PropcrmError):
    """A plugin is misdeclared, failed to load, or answered a hook wrongly."""


class StoreError(PropcrmError):
    """A storage backend failed (driver error, corrupt row); the write, if any, was rolled back."""


class CalendarRangeError(PropcrmError, LookupError):
    """An instant lies outside the data a calendar has (for example an unpublished holiday year).

    Args:
        message: Which instant or year, and which calendar.
        hint: Which policy or data source would cover it.
    """
