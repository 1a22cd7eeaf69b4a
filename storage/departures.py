"""The departure log: which batches claimed ahead really left, written in microseconds right before they leave.

A bulk worker claims its next batch while its current request is in flight (``claim_ahead``: a row in
``bulk_batches_in_flight`` with ``ahead = 1``), so the claim costs the request slot nothing. Such a row alone does
not say whether the request left: a crash may come before. Right before the request leaves, ``departing`` appends
one line naming the claim to this file: one ``write()`` on the event loop, no thread hop and no commit. The
kernel has the whole line once the call returns (a short write, e.g. a full disk, raises and the batch does not
leave), so a killed process loses nothing.

At start-up ``departed`` reads the lines back: a claimed-ahead row with a line covers rows that may have left
(``unknown``), one without a line provably never left (its rows stay ``pending``). A line names the claim id
(never reused: AUTOINCREMENT), the job and the id range, and only a line matching all four counts. Every line
starts and ends with a newline, so a line cut short (a full disk, a power cut) never matches its claim and never
swallows the next line. The file is emptied at start-up only, once the recovery that read it is on disk (a checkpoint):
about 30 bytes per request, a few MB in a year of heavy use.

Power cuts are outside this promise, as they are outside the database's: at ``synchronous = NORMAL`` a power cut
may lose the last commits, and it may lose the last lines of this file too; a batch that was in flight then may
be sent again. A process that is killed, crashes or is stopped loses nothing.

``fence`` is a second guard for cancel and stop: once a job's pending rows are cancelled or failed, no batch of
that job departs any more in this process, even if a caller forgot to stop its runner first.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import NamedTuple


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
        self._unsettled: set[int] = set()  # claims that departed and whose in-flight row is still there
        self._fenced: set[int] = set()  # jobs whose batches must not depart (cancelled or stopped)

    @property
    def unsettled(self) -> frozenset[int]:
        """Claims that departed in this process and whose in-flight row is still there."""
        return frozenset(self._unsettled)

    def fence(self, job_id: int) -> None:
        """The job's pending rows are being cancelled or failed: none of its batches departs from now on."""
        self._fenced.add(job_id)

    def unfence(self, job_id: int) -> None:
        """A person asked to send the job's rows again (``/retry``)."""
        self._fenced.discard(job_id)

    def fenced(self, job_id: int) -> bool:
        return job_id in self._fenced

    def departing(self, departure: Departure) -> None:
        """Right before the request leaves: once this returns, a crash counts the batch as maybe sent. Raises
        ``OSError`` when the line could not be written whole; the batch must not leave then."""
        line = f"\n{departure.claim_id} {departure.job_id} {departure.first_id} {departure.last_id}\n".encode()
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        written = os.write(self._fd, line)
        if written != len(line):  # a full disk or a file size limit writes what fits and says how much
            raise OSError(f"the departure log took {written} of {len(line)} bytes (is the disk full?)")
        self._unsettled.add(departure.claim_id)

    def settled(self, claim_id: int) -> None:
        """The claim's in-flight row is gone (outcomes stored or batch released): its line no longer matters."""
        self._unsettled.discard(claim_id)

    def departed(self) -> set[Departure]:
        """The lines written by the last process (read at start-up, before anything is sent)."""
        try:
            return parse_departures(self.path.read_bytes().decode("ascii", errors="replace"))
        except FileNotFoundError:
            return set()

    def clear(self) -> None:
        """At start-up, after the recovery that read the log is on disk."""
        if self._unsettled:
            raise RuntimeError("the departure log is cleared only before anything is sent")
        with contextlib.suppress(FileNotFoundError):
            os.truncate(self.path, 0)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
