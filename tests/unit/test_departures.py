"""The departure log: lines written before a claimed-ahead batch leaves, read back at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.departures import Departure, DepartureLog, parse_departures

ids = st.integers(min_value=0, max_value=2**63 - 1)
departures = st.builds(Departure, ids, ids, ids, ids)


def test_every_line_written_is_read_back_after_the_writer_is_gone(tmp_path: Path) -> None:
    log = DepartureLog(tmp_path / "db-departures")
    log.departing(Departure(7, 1, 100, 199))
    log.departing(Departure(8, 1, 200, 299))
    # No close: a killed process closes nothing; the kernel already has every line.

    assert DepartureLog(tmp_path / "db-departures").departed() == {Departure(7, 1, 100, 199), Departure(8, 1, 200, 299)}
    assert log.unsettled == {7, 8}


def test_no_file_means_nothing_departed_and_clear_empties_it(tmp_path: Path) -> None:
    path = tmp_path / "db-departures"
    assert DepartureLog(path).departed() == set()
    DepartureLog(path).clear()  # nothing to clear: harmless
    writer = DepartureLog(path)
    writer.departing(Departure(1, 2, 3, 4))
    writer.settled(1)
    writer.close()

    reader = DepartureLog(path)
    assert reader.departed() == {Departure(1, 2, 3, 4)}  # settled but small: kept until the next start
    reader.clear()
    assert reader.departed() == set() and path.stat().st_size == 0


def test_clear_is_refused_while_a_departed_batch_is_unsettled(tmp_path: Path) -> None:
    log = DepartureLog(tmp_path / "db-departures")
    log.departing(Departure(1, 2, 3, 4))
    with pytest.raises(RuntimeError):
        log.clear()
    assert log.departed() == {Departure(1, 2, 3, 4)}


def test_the_file_is_emptied_once_it_is_large_and_no_departed_batch_is_unsettled(tmp_path: Path) -> None:
    path = tmp_path / "db-departures"
    log = DepartureLog(path)
    claim = 0
    while not path.exists() or path.stat().st_size <= 70 * 1024:
        claim += 1
        log.departing(Departure(claim, 1, claim * 100, claim * 100 + 99))
        if claim > 1:
            log.settled(claim - 1)  # one batch always unsettled: never emptied
    assert path.stat().st_size > 64 * 1024
    log.departing(Departure(claim + 1, 1, 0, 0))
    log.settled(claim)
    assert path.stat().st_size > 64 * 1024  # claim + 1 is still out
    log.settled(claim + 1)
    assert path.stat().st_size == 0
    log.departing(Departure(claim + 2, 1, 5, 6))  # appends go on from the start of the emptied file
    assert DepartureLog(path).departed() == {Departure(claim + 2, 1, 5, 6)}


@given(st.lists(departures, max_size=20))
def test_parse_reads_back_every_line_written(written: list[Departure]) -> None:
    text = "".join(f"{d.claim_id} {d.job_id} {d.first_id} {d.last_id}\n" for d in written)
    assert parse_departures(text) == set(written)


@given(st.lists(departures, min_size=1, max_size=10), st.integers(min_value=0), st.text(max_size=30))
def test_a_line_cut_short_or_garbage_is_skipped_and_never_invents_a_departure(
    written: list[Departure], cut: int, garbage: str
) -> None:
    """A power cut may leave the end of the file cut short and followed by anything."""
    text = "".join(f"{d.claim_id} {d.job_id} {d.first_id} {d.last_id}\n" for d in written)
    kept = text[: cut % len(text)]
    whole, _, cut_line = kept.rpartition("\n")

    found = parse_departures(kept + garbage)

    assert parse_departures(whole + "\n") <= found  # every line that survived whole counts
    assert found - parse_departures(whole + "\n") <= parse_departures(
        cut_line + garbage
    )  # the rest: only from the tail
    if "\n" not in garbage:
        assert found == parse_departures(whole + "\n")  # a line without its newline never counts
