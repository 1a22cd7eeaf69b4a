"""After ``python -m bot restore``: what the restored backup shows unfinished is settled, never sent again.

The backup cannot know what happened after it was taken: a row it shows ``pending`` or ``sending`` may have gone
out since, and a schedule it shows ``pending`` may have fired. Resending would risk a second SMS; saying
"nothing was sent" could be false. So that work becomes ``unknown`` (messages) or ``missed`` (schedules due before
the restore), with a reason naming the backup's time, and a person decides what to send again (``/retry``).
This runs at start-up before recovery resumes anything (``bot/app.py`` ``post_init``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from storage import Database
from storage.restore_marker import RestoreSettlement


def backup_moment(moment: datetime | None) -> str:
    """The backup's time in UTC for stored reasons (chats see their local time in the alerts)."""
    return "at an unknown time" if moment is None else f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


async def settle_restore(db: Database) -> RestoreSettlement | None:
    """Settle a restore's unfinished work once; None when the database was not restored since the last start."""
    marker = await db.restores.get()
    if marker is None:
        return None
    taken = backup_moment(marker.backup_time)
    return await db.restores.settle(
        marker,
        error=f"restored from a backup taken {taken}: it may have gone out after that",
        schedule_outcome=f"missed: restored from a backup taken {taken}; it may or may not have gone out",
    )
