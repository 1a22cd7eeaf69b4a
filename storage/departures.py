"""The departure log: which batches claimed ahead really left, written in microseconds right before they leave.

A bulk worker claims its next batch while its current request is in flight (``claim_ahead``: a row in
``bulk_batches_in_flight`` with ``ahead = 1``), so the claim costs the request slot nothing. Such a row alone does
not say whether the request left: a crash may come before. Right before the request leaves, ``departing`` appends
one line naming the claim to this file: one ``write()`` on the event loop, no thread hop and no commit. The
kernel has the line once the call returns, so a killed process loses nothing, exactly like a SQLite commit at
``synchronous = NORMAL`` (neither survives a power cut unflushed; that is the database's setting, not a new risk).

At start-up ``departed`` reads the lines back: a claimed-ahead row with a line covers rows that may have left
(``unknown``), one without a line provably never left (its rows stay ``pending``). A line names the claim id
(never reused: AUTOINCREMENT), the job and the id range, and only a line matching all four counts. A killed
process cannot cut a line (the kernel finishes a write it has begun); a power cut may lose the end of the file
just as it may lose the database's last commits, and a line it cut short does not parse.

The file is emptied at start-up once the recovery has committed, and while the bot runs whenever no batch that
departed is still waiting for its outcomes to be stored (``settled``), so it stays small.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import NamedTuple

# Emptied whenever no departed batch is unsettled and the file has grown past this (a line is ≈ 30 bytes).
_EMPTY_ABOVE_BYTES = 64 * 1024


class Departure(NamedTuple):
    """One line of the log: the in-flight row ``claim_id`` of ``job_id`` over message ids first..last left."""

    claim_id: int
    job_id: int
    first_id: int
    last_id: int


def parse_departures(text: str) -> set[Departure]:
    """Every well-formed line of the log; anything else (a line cut by a power cut, stray bytes) is skipped.
    A line counts only with its newline: one cut inside its last number would name another range."""
    found: set[Departure] = set()
    for line in text.split("\n")[:-1]:
        fields = line.split(" ")
        if len(fields) != 4 or not all(field.isascii() and field.isdigit() for field in fields):
            continue
        found.add(Departure(*(int(field) for field in fields)))
    return found


class DepartureLog:
    """The log beside one database file; only the bot process writes it (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._written = 0  # bytes appended since the file was last emptied by this process
        self._unsettled: set[int] = set()  # claims that departed and whose outcomes are not stored yet

    @property
    def unsettled(self) -> frozenset[int]:
        """Claims that departed in this process and whose in-flight row is still there."""
        return frozenset(self._unsettled)

    def departing(self, departure: Departure) -> None:
        """Right before the request leaves: once this returns, a crash counts the batch as maybe sent."""
        line = f"{departure.claim_id} {departure.job_id} {departure.first_id} {departure.last_id}\n".encode()
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(self._fd, line)  # a short write to a regular file is whole or, if the call failed, raised
        self._written += len(line)
        self._unsettled.add(departure.claim_id)

    def settled(self, claim_id: int) -> None:
        """The claim's in-flight row is gone (outcomes stored or batch released): its line no longer matters."""
        self._unsettled.discard(claim_id)
        if not self._unsettled and self._written > _EMPTY_ABOVE_BYTES and self._fd is not None:
            os.ftruncate(self._fd, 0)
            self._written = 0

    def departed(self) -> set[Departure]:
        """The lines written by the last process (read at start-up, before anything is sent)."""
        try:
            return parse_departures(self.path.read_bytes().decode("ascii", errors="replace"))
        except FileNotFoundError:
            return set()

    def clear(self) -> None:
        """At start-up, after the recovery that read the log has committed."""
        if self._unsettled:
            raise RuntimeError("the departure log is cleared only before anything is sent")
        with contextlib.suppress(FileNotFoundError):
            os.truncate(self.path, 0)
        self._written = 0

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
