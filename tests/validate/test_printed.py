"""What a cell printed against what the pipeline printed: numbers with a
tolerance, timings left out, and everything else evidence."""

from __future__ import annotations

import pytest

from nbprod.validate.printed import compare_printed, normalise


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("epoch 1 took 0.53s", "epoch 1 took <varies>"),
        ("fit in 12 ms", "fit in <varies>"),
        ("10/10 - 3ms/step", "10/10 - <varies>/step"),
        ("done in 2.5 seconds", "done in <varies>"),
        ("at 2026-12-02 13:52", "at <varies>"),
        # a number and a word are not a duration, nor is an upper-case S
        ("27.568807339449542 S", "27.568807339449542 S"),
        ("3 samples", "3 samples"),
    ],
)
def test_only_what_varies_from_run_to_run_is_masked(line: str, shown: str) -> None:
    assert normalise(line) == [shown]


def test_a_changed_value_printed_beside_a_letter_is_a_difference() -> None:
    # titanic's cell 11 prints the mean age and the port code; a median instead
    # of the mean must show
    verdict = compare_printed("28.0 S\n", "27.568807339449542 S\n", all_kept=True)
    assert not verdict.same
    assert "28.0 != 27.568807339449542" in verdict.detail
    assert compare_printed(
        "27.5688073394495 S", "27.568807339449542 S", all_kept=True
    ).same
