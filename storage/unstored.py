"""The recipients of a large bulk job not stored as message rows yet (migration 0010), kept compactly.

``BulkJobRepository.create`` writes them with the job, in one JSON text (numbers, or [number, body, encoding,
segments] for a personalised job) with the units they count against the chat's quota. Each chunk the runner stores
moves ``next_index`` and lowers ``units`` in the transaction that inserts its rows, so after a crash the job goes on
from exactly where its rows end: nobody is stored twice, nobody is lost. Cancelling a job deletes the row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from storage.connection import SharedConnection
from storage.models import PersonalText, Unstored


def units_of(segments: int, unstored: Unstored) -> int:
    """What the recipients count against the quota: the job's segments each, or each one's own."""
    if unstored.texts is None:
        return segments * len(unstored.recipients)
    return sum(text.segments for text in unstored.texts)


def _items(recipients: Sequence[str], texts: Sequence[PersonalText] | None) -> str:
    if texts is None:
        return json.dumps(list(recipients))
    return json.dumps([[number, t.body, t.encoding, t.segments] for number, t in zip(recipients, texts, strict=True)])


async def put(conn: SharedConnection, job_id: int, rest: Unstored, units: int) -> None:
    """Inside the transaction that creates the job."""
    await conn.execute(
        "INSERT INTO bulk_job_unstored (job_id, next_index, items, units) VALUES (?, 0, ?, ?)",
        (job_id, _items(rest.recipients, rest.texts), units),
    )


async def advance(conn: SharedConnection, job_id: int, chunk: Unstored, units: int, *, last: bool) -> bool:
    """Move past ``chunk`` (inside the transaction that stores its rows); False when the job has no unstored
    recipients at ``chunk.start`` any more (cancelled, or already stored), and then nothing may be stored."""
    if last:
        changed = await conn.execute(
            "DELETE FROM bulk_job_unstored WHERE job_id = ? AND next_index = ?", (job_id, chunk.start)
        )
    else:
        changed = await conn.execute(
            "UPDATE bulk_job_unstored SET next_index = next_index + ?, units = units - ?"
            " WHERE job_id = ? AND next_index = ?",
            (len(chunk.recipients), units, job_id, chunk.start),
        )
    return changed > 0


async def drop(conn: SharedConnection, job_id: int) -> None:
    """Never stored, never sent: a cancelled job releases what it still held."""
    await conn.execute("DELETE FROM bulk_job_unstored WHERE job_id = ?", (job_id,))


async def load(conn: SharedConnection, job_id: int) -> Unstored | None:
    """What a job still has to store, from ``next_index`` on (start-up, after a crash cut the storing)."""
    row = await conn.fetch_one("SELECT next_index, items FROM bulk_job_unstored WHERE job_id = ?", (job_id,))
    if row is None:
        return None
    start = int(row["next_index"])
    items = json.loads(row["items"])[start:]
    if not items or isinstance(items[0], str):
        return Unstored([str(item) for item in items], None, start)
    numbers = [str(item[0]) for item in items]
    texts = [PersonalText(body=item[1], encoding=item[2], segments=int(item[3])) for item in items]
    return Unstored(numbers, texts, start)
