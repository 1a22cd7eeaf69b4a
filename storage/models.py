"""Values that cross the storage boundary: enums, records read back, and requests to write.

Everything here is a frozen dataclass or a ``StrEnum`` so services and handlers never see a database row.
The message transition rules live here too, next to the statuses they are about, so the repositories, the
tests and anyone reading a status find them in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final, NamedTuple

from storage.errors import InvalidTransitionError


class Role(StrEnum):
    ADMIN = "admin"
    SENDER = "sender"
    VIEWER = "viewer"


class MessageStatus(StrEnum):
    PENDING = "pending"  # written, not yet handed to a provider
    SENDING = "sending"  # handed to a provider; a crash now means we cannot know whether it went out
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the network confirmed delivery
    FAILED = "failed"  # refused or not sent; safe to retry on request
    UNKNOWN = "unknown"  # may or may not have gone out: never resent without a person asking
    CANCELLED = "cancelled"  # a pending row of a bulk job someone stopped: never resumed


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"  # only in jobs of older versions (cut while storing their recipients)


FINAL_JOB_STATES: Final = frozenset({JobState.DONE, JobState.CANCELLED, JobState.FAILED})

_S = MessageStatus
ALLOWED_TRANSITIONS: Final[Mapping[MessageStatus, frozenset[MessageStatus]]] = MappingProxyType(
    {
        _S.PENDING: frozenset({_S.SENDING, _S.SENT, _S.FAILED, _S.UNKNOWN, _S.CANCELLED}),
        _S.SENDING: frozenset({_S.SENT, _S.FAILED, _S.UNKNOWN}),
        # sent → sent lets a later report add the provider id or the cost
        _S.SENT: frozenset({_S.SENT, _S.DELIVERED, _S.FAILED}),
        _S.UNKNOWN: frozenset({_S.SENT, _S.DELIVERED, _S.FAILED}),
        _S.FAILED: frozenset(),
        _S.DELIVERED: frozenset(),
        _S.CANCELLED: frozenset(),
    }
)
# Only ``MessageRepository.requeue`` moves rows back to pending, and only from these: a retry on request. (The
# one other way back is ``release_claim``: ``sending`` rows whose request provably never left.)
REQUEUEABLE: Final = frozenset({_S.FAILED, _S.UNKNOWN})


def allowed_previous(status: MessageStatus) -> frozenset[MessageStatus]:
    """The states from which ``status`` may be reached by a status update."""
    return frozenset(old for old, targets in ALLOWED_TRANSITIONS.items() if status in targets)


def check_transition(current: MessageStatus, requested: MessageStatus, message_id: int | None = None) -> bool:
    """True when the update applies, False for a harmless repeat (delivered → delivered); raises otherwise."""
    if requested in ALLOWED_TRANSITIONS[current]:
        return True
    if requested == current:
        return False
    raise InvalidTransitionError(current, requested, message_id)


@dataclass(frozen=True, slots=True)
class ChatRecord:
    chat_id: int
    role: Role
    title: str | None
    added_by: int | None  # the admin chat that first allowed it; None when seeded from ADMIN_CHAT_IDS
    added_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewMessage:
    chat_id: int
    user_id: int | None
    provider: str
    recipient: str  # normalised, 2547…/2541…
    body: str
    encoding: str
    segments: int
    units: int | None = None
    status: MessageStatus = MessageStatus.PENDING
    provider_message_id: str | None = None
    cost: Decimal | None = None
    error: str | None = None
    bulk_job_id: int | None = None
    outside_quota: bool = False  # an alert SMS: the bot's own, no chat's quota counts it


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: int
    chat_id: int
    user_id: int | None
    provider: str
    provider_message_id: str | None
    recipient: str
    body: str
    encoding: str
    segments: int
    units: int | None
    cost: Decimal | None
    status: MessageStatus
    error: str | None
    bulk_job_id: int | None
    created_at: datetime
    updated_at: datetime
    failover_from: str | None = None  # the provider that refused before sending; ``provider`` then sent it
    failover_reason: str | None = None  # what that provider said


class ClaimedRow(NamedTuple):
    """A bulk job's row on its way to the provider: what the request needs (a named tuple: one per recipient)."""

    id: int
    recipient: str
    body: str
    segments: int


class MessageOutcome(NamedTuple):
    """What a provider said about one row; fields left None keep the value already stored. A named tuple: one
    per recipient of a bulk job."""

    message_id: int
    status: MessageStatus
    provider_message_id: str | None = None
    units: int | None = None
    cost: Decimal | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PersonalText:
    """One recipient's own text in a personalised bulk job, with how it is billed."""

    body: str
    encoding: str
    segments: int


@dataclass(frozen=True, slots=True)
class NewBulkJob:
    chat_id: int
    user_id: int | None
    body: str
    encoding: str
    segments: int
    provider: str
    sender_id: str | None
    refused: int = 0  # numbers the preview refused: never rows, but the summary names how many
    duplicates: int = 0  # numbers listed more than once, sent once
    provider_chosen: bool = True  # named with via:, so its batches never fail over to another provider


@dataclass(frozen=True, slots=True)
class BulkJobRecord:
    id: int
    chat_id: int
    user_id: int | None
    body: str
    encoding: str
    segments: int
    provider: str
    sender_id: str | None
    state: JobState
    total_recipients: int
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    progress_message_id: int | None
    refused: int = 0
    duplicates: int = 0
    provider_chosen: bool = True


@dataclass(frozen=True, slots=True)
class JobTotals:
    """Counts per status and sums, computed from the message rows themselves (never kept as counters)."""

    pending: int = 0
    sending: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    unknown: int = 0
    cancelled: int = 0
    units: int = 0  # sum over rows that have units
    cost: Decimal | None = None  # None when no row has a cost yet
    handed_over: int = 0  # rows another provider took after the job's own refused before sending (failover)

    def count(self, status: MessageStatus) -> int:
        value: int = getattr(self, status.value)
        return value

    @property
    def total(self) -> int:
        return sum(self.count(status) for status in MessageStatus)

    @property
    def accepted(self) -> int:
        """Rows the provider took: sent or already delivered."""
        return self.sent + self.delivered

    @property
    def open(self) -> int:
        """Rows still waiting to be sent or in flight."""
        return self.pending + self.sending


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor_chat_id: int | None
    actor_user_id: int | None
    action: str
    target: str | None
    detail: str | None
    units: int | None
