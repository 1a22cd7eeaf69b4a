"""The lease of the active process: an epoch in ``ha_lease`` (migration 0015) that fences claims and records.

Becoming active adds 1 to the epoch; a claim or record carries the epoch its process took and changes nothing
once another process has taken a newer one (``batches.py``), so a paused or cut-off old owner cannot send again.
"""

from __future__ import annotations

import os
import socket

from storage.connection import SharedConnection
from storage.dialect import Dialect
from storage.errors import LeaseLostError


def fence(dialect: Dialect) -> str:
    """The fence of a claim or record: true only while the epoch this process took is still the newest. On
    PostgreSQL it locks the lease row (FOR SHARE): a takeover's epoch waits for a claim already under way, and a
    claim that waited for the takeover reads the new epoch, so none slips past the next crash rule."""
    return dialect.pick(
        sqlite="EXISTS (SELECT 1 FROM ha_lease WHERE id = 1 AND epoch = ?)",
        postgresql="EXISTS (SELECT 1 FROM ha_lease WHERE id = 1 AND epoch = ? FOR SHARE)",
    )


async def take_lease(conn: SharedConnection) -> int:
    """Take the next epoch for this process (it must already hold the active lock); returns it."""
    async with conn.transaction():
        before = await conn.fetch_one("SELECT owner FROM ha_lease WHERE id = 1")
        conn.previous_owner = None if before is None or before[0] is None else str(before[0])
        rows = await conn.fetch_all(
            "UPDATE ha_lease SET epoch = epoch + 1, owner = ?, taken_at = ? WHERE id = 1 RETURNING epoch",
            (f"{socket.gethostname()}:{os.getpid()}", conn.now_text()),
        )
    if not rows:
        raise RuntimeError("ha_lease has no row: migration 0015 did not run")
    conn.epoch = int(rows[0][0])
    conn.lease_lost = False
    return conn.epoch


async def check_lease(conn: SharedConnection) -> None:
    """Raise ``LeaseLostError`` when another process has taken a newer epoch than this one's."""
    epoch = conn.fence(claiming=False)
    row = await conn.fetch_one("SELECT epoch FROM ha_lease WHERE id = 1")
    if row is None or int(row[0]) != epoch:
        conn.lease_lost = True
        raise LeaseLostError(f"another process took the lease (epoch {None if row is None else row[0]}, ours {epoch})")
