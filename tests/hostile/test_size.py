"""Large notebooks: hundreds of MB of saved outputs, thousands of cells.

Outputs never reach the analysis; memory stays within a small multiple of the
file (the JSON has to be parsed once), measured as the peak resident size of the
real command. Time is not asserted here: benchmarks/convert_speed.py measures how
it grows with the number of cells.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT

MB = 1024 * 1024


def _peak_kb(*args: str | Path, cwd: Path) -> tuple[int, int]:
    """Exit code and peak resident KB of ``nbprod ARGS``, measured by a fresh
    parent whose only child it is (RUSAGE_CHILDREN keeps the largest child)."""
    import subprocess

    probe = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run([sys.executable, '-m', 'nbprod', *sys.argv[1:]],"
        " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    ).stdout.split()
    return int(out[0]), int(out[1])


def _huge(path: Path, image_mb: int, stream_mb: int) -> int:
    cells = [
        {
            "cell_type": "code",
            "id": "plot",
            "metadata": {},
            "execution_count": 1,
            "source": "import math\nxs = [math.sin(i) for i in range(100)]",
            "outputs": [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"image/png": "iVBORw0KGgo" + "A" * (image_mb * MB)},
                }
            ],
        },
        {
            "cell_type": "code",
            "id": "dump",
            "metadata": {},
            "execution_count": 2,
            "source": "total = sum(xs)\nprint(xs * 1000)",
            "outputs": [
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": "0.1, " * (stream_mb * MB // 5),
                }
            ],
        },
    ]
    meta = {
        "kernelspec": {"name": "python3", "language": "python", "display_name": "P"}
    }
    path.write_text(
        json.dumps(
            {"nbformat": 4, "nbformat_minor": 5, "metadata": meta, "cells": cells}
        )
    )
    return path.stat().st_size


@pytest.mark.e2e
def test_hundreds_of_mb_of_outputs(tmp_path: Path) -> None:
    nb = tmp_path / "huge.ipynb"
    size_kb = _huge(nb, image_mb=120, stream_mb=80) // 1024
    code, convert_kb = _peak_kb(
        "convert", nb, "-o", tmp_path / "out", "--no-validate", cwd=tmp_path
    )
    assert code == 0
    assert (
        "print(xs * 1000)" in (tmp_path / "out/src/huge/preprocessing.py").read_text()
    )
    code, lint_kb = _peak_kb("lint", "--no-cache", "--select", "NBP", nb, cwd=tmp_path)
    assert code == 1  # NBP008: outputs over the size limit
    # Parsing JSON needs the text and the values once: ~2x the file, plus the
    # interpreter and libraries (~150 MB). Loading it twice more would be ~4x.
    for peak in (convert_kb, lint_kb):
        assert peak < 2.6 * size_kb + 200 * 1024, (peak, size_kb)


@pytest.mark.e2e
def test_thousands_of_cells(tmp_path: Path) -> None:
    sources = ["import math\n\ntotal = 0.0"]
    for i in range(1, 1500):
        sources.append(f"value_{i} = math.sqrt({i}) * 2\ntotal += value_{i}")
    cells = [
        {
            "cell_type": "code",
            "id": f"c{i}",
            "metadata": {},
            "execution_count": i + 1,
            "source": s,
            "outputs": [],
        }
        for i, s in enumerate(sources)
    ]
    meta = {
        "kernelspec": {"name": "python3", "language": "python", "display_name": "P"}
    }
    nb = tmp_path / "long.ipynb"
    nb.write_text(
        json.dumps(
            {"nbformat": 4, "nbformat_minor": 5, "metadata": meta, "cells": cells}
        )
    )
    code, _ = _peak_kb(
        "convert", nb, "-o", tmp_path / "out", "--no-validate", cwd=tmp_path
    )
    assert code == 0
    code, _ = _peak_kb("lint", "--no-cache", nb, cwd=tmp_path)
    assert code == 0
