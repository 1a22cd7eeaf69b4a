"""``python -m bot backup <path>`` and ``python -m bot restore <backup>``: data safety by hand.

``backup`` works while the bot runs (that is its point): it copies through its own read connection. ``restore``
refuses (exit 5) while a bot is active on the database or another smsrelay process has it open (``storage/db_lock``).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.services.restored import backup_moment
from storage.backup import RestoreRefusedError, backup_database, backup_name, restore_database
from storage.db_lock import BotRunningError, DatabaseBusyError

EXIT_FAILED = 1
EXIT_BUSY = 5


def make_backup(database: Path, destination: str) -> int:
    """A folder (existing, or written with a trailing /) gets a dated file (smsrelay-<UTC>Z.db); any other path is
    the file to write."""
    folder = Path(destination)
    is_folder = folder.is_dir() or destination.endswith(("/", os.sep))
    target = folder / backup_name(datetime.now(UTC)) if is_folder else folder
    try:
        result = backup_database(database, target)
    except (OSError, DatabaseBusyError) as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # sqlite3 errors: say what SQLite said, in one line
        print(f"backup failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"backup: {result.path}")
    print(f"size: {result.size:,} bytes")
    print(f"schema version: {result.schema_version}")
    print(f"integrity: {result.integrity}")
    return 0 if result.integrity == "ok" else EXIT_FAILED


def restore(database: Path, backup: Path) -> int:
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = restore_database(backup, database, moment=datetime.now(UTC))
    except BotRunningError:
        print(
            f"restore refused: the bot is running on {database} (or a restore is under way). Stop the bot first "
            "(every container or process that runs it, standbys included), then restore.",
            file=sys.stderr,
        )
        return EXIT_BUSY
    except DatabaseBusyError:
        print(
            f"restore refused: {database} is open in another smsrelay process (a backup or notify under way). "
            "Let it finish, then restore.",
            file=sys.stderr,
        )
        return EXIT_BUSY
    except (RestoreRefusedError, OSError) as exc:
        print(f"restore refused: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"restored {result.restored_from} (schema version {result.schema_version}) into {database}")
    if result.kept_as is not None:
        print(f"the database it replaced is kept as {result.kept_as}")
    taken = backup_moment(result.marker.backup_time)
    print(
        f"the backup's newest record is from {taken}: at the next start, messages it shows unsent or in flight are "
        "marked unknown (never sent again) and schedules due before now are marked missed; the admins are told"
    )
    print("start the bot again; it upgrades an older schema by itself")
    return 0
