"""SQLite or PostgreSQL storage for smsrelay: open the database, then use its repositories (``db.chats``,
``db.messages``, ``db.jobs``, ``db.audit``, ``db.spend_requests``, ``db.blocklist``). No SQL lives outside it."""

from storage import audit as audit_actions
from storage.audit import AuditRepository
from storage.blocklist import BlockedNumber, BlocklistRepository
from storage.chats import ChatRepository
from storage.codec import Clock
from storage.database import Database, open_database
from storage.errors import (
    DatabaseUnavailableError,
    DuplicateRequestError,
    InvalidTransitionError,
    LastAdminError,
    LeaseLostError,
    MigrationError,
    NotFoundError,
    SchemaTooNewError,
    StorageError,
)
from storage.groups import GroupRepository, GroupSummary
from storage.incidents import AlertNotice, Incident, IncidentChange, IncidentRepository
from storage.jobs import BulkJobRepository
from storage.messages import MessageRepository
from storage.migrations import migrate
from storage.models import (
    ALLOWED_TRANSITIONS,
    FINAL_JOB_STATES,
    REQUEUEABLE,
    AuditRecord,
    BulkJobRecord,
    ChatRecord,
    ClaimedRow,
    JobState,
    JobTotals,
    MessageOutcome,
    MessageRecord,
    MessageStatus,
    NewBulkJob,
    NewMessage,
    PersonalText,
    Role,
    check_transition,
)
from storage.quotas import QuotaOverride, QuotaRepository
from storage.retention import RetentionRepository
from storage.schedules import (
    NewSchedule,
    ScheduleKind,
    ScheduleRecord,
    ScheduleRepository,
    ScheduleState,
    schedule_key,
)
from storage.spend_requests import SpendRequestRepository
from storage.templates import TemplateRecord, TemplateRepository
from storage.usage import UsageBucket, UsageRepository

__all__ = [
    "ALLOWED_TRANSITIONS",
    "FINAL_JOB_STATES",
    "REQUEUEABLE",
    "AlertNotice",
    "AuditRecord",
    "AuditRepository",
    "BlockedNumber",
    "BlocklistRepository",
    "BulkJobRecord",
    "BulkJobRepository",
    "ChatRecord",
    "ChatRepository",
    "ClaimedRow",
    "Clock",
    "Database",
    "DatabaseUnavailableError",
    "DuplicateRequestError",
    "GroupRepository",
    "GroupSummary",
    "Incident",
    "IncidentChange",
    "IncidentRepository",
    "InvalidTransitionError",
    "JobState",
    "JobTotals",
    "LastAdminError",
    "LeaseLostError",
    "MessageOutcome",
    "MessageRecord",
    "MessageRepository",
    "MessageStatus",
    "MigrationError",
    "NewBulkJob",
    "NewMessage",
    "NewSchedule",
    "NotFoundError",
    "PersonalText",
    "QuotaOverride",
    "QuotaRepository",
    "RetentionRepository",
    "Role",
    "ScheduleKind",
    "ScheduleRecord",
    "ScheduleRepository",
    "ScheduleState",
    "SchemaTooNewError",
    "SpendRequestRepository",
    "StorageError",
    "TemplateRecord",
    "TemplateRepository",
    "UsageBucket",
    "UsageRepository",
    "audit_actions",
    "check_transition",
    "migrate",
    "open_database",
    "schedule_key",
]
