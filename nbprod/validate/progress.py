"""Signs of life while validation runs: one line on a terminal, redrawn in place,
saying which cell of the notebook runs and which stage of the pipeline.

The notebook and the pipeline run at the same time (the notebook in a kernel,
the pipeline in a subprocess), so the line shows both. Where output is not a
terminal, or with ``--quiet``, nothing is drawn (``Progress(None)``): logs and
pipes get the result only.

Drawn by hand, not with click's progress bar: that bar counts the steps of one
loop, and this line follows two runs in two processes, one of them polled.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

_REDRAW_SECONDS = 0.2


class Progress:
    """What validation is doing, drawn on ``stream`` (``None``: drawn nowhere)."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self.notebook = ""
        self.pipeline: Callable[[], str] = str
        self._what = ""
        self._drawn = 0
        self._lock = threading.Lock()

    def notebook_cell(self, number: int, total: int) -> None:
        """The notebook's cell ``number`` (of ``total``, markdown counted) runs:
        drawn at once, so every cell is seen, however fast."""
        self.notebook = f"cell {number} of {total}"
        self._draw()

    def notebook_done(self) -> None:
        self.notebook = "done"
        self._draw()

    @contextmanager
    def running(self, what: str, pipeline: Callable[[], str]) -> Iterator[None]:
        """Redraw the line every few tenths of a second while the body runs, then
        clear it: ``what`` runs, the notebook's cell, and the stage ``pipeline``
        says runs."""
        self.notebook, self.pipeline, self._what = "starting", pipeline, what
        if self.stream is None:
            yield
            return
        stop = threading.Event()

        def redraw() -> None:  # the pipeline's stage is polled: it runs elsewhere
            while not stop.wait(_REDRAW_SECONDS):
                self._draw()

        thread = threading.Thread(target=redraw, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self._what = ""
            self._draw()

    def _draw(self) -> None:
        if self.stream is None:
            return
        parts = []
        if self._what:
            stage = self.pipeline()
            parts = [self._what, f"notebook: {self.notebook}"]
            parts += [f"pipeline: {stage}"] if stage else []
        line = " · ".join(parts)
        with self._lock:
            # Pad over what the last line left; kept short, as a terminal
            # narrower than the line would wrap it.
            end = "" if line else "\r"
            self.stream.write("\r" + line.ljust(self._drawn) + end)
            self.stream.flush()
            self._drawn = len(line)
