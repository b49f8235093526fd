"""The plan as a picture: every code cell in the box of its stage, the names on the
arrows, in the Mermaid flowchart and in the SVG drawn without it; and the HTML
page, in headless Chromium with no network, drawing every cell and asking for
nothing."""

from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from PIL import Image

from nbprod.commands.convert import analyse
from nbprod.convert.picture import (
    LEFT_OUT_COLOUR,
    STAGE_COLOURS,
    html_page,
    mermaid,
    svg,
)
from nbprod.notebook import read_notebook
from nbprod.plan import CellPlan, Plan
from nbprod.stages import Stage
from tests.helpers.chromium import offline_chromium, page_requests
from tests.helpers.cli import run_nbprod
from tests.helpers.paths import EXAMPLE_NOTEBOOKS, EXAMPLES

TITANIC = EXAMPLES / "titanic_mlops_poc.ipynb"
SVG = "{http://www.w3.org/2000/svg}"


def _plan(notebook: Path) -> Plan:
    return analyse(read_notebook(notebook)).plan


def _boxes(diagram: str) -> dict[str, list[int]]:
    """The cells drawn in each box (subgraph) of a Mermaid flowchart."""
    boxes: dict[str, list[int]] = {}
    box = None
    for line in diagram.splitlines():
        if opened := re.match(r"\s*subgraph (\w+)\[", line):
            box = boxes.setdefault(opened[1], [])
        elif line.strip() == "end":
            box = None
        elif box is not None and (node := re.match(r"\s*c(\d+)\[", line)):
            box.append(int(node[1]))
    return boxes


def _code_cells(notebook: Path) -> list[int]:
    """The numbers of the notebook's code cells, read without nbprod: every cell
    counts, from 1, as nbprod numbers them."""
    nb = nbformat.read(notebook, as_version=4)
    return [i for i, c in enumerate(nb.cells, 1) if c.cell_type == "code"]


def _arrows(plan: Plan) -> set[tuple[int, int, tuple[str, ...]]]:
    """Every arrow the plan asks for: (from, to, the names it carries)."""
    return {
        (dep, c.number, dict(c.reads_from).get(dep, ()))
        for c in plan.cells
        for dep in c.depends_on
    }


def _shown(names: tuple[str, ...]) -> str:
    """The names as an arrow shows them: three, then how many more."""
    more = len(names) - 3
    return ", ".join(names[:3]) + (f" +{more}" if more > 0 else "")


@pytest.mark.parametrize("notebook", EXAMPLE_NOTEBOOKS, ids=lambda p: p.stem)
def test_every_code_cell_is_drawn_once_in_the_box_of_its_stage(
    notebook: Path,
) -> None:
    plan = _plan(notebook)
    boxes = _boxes(mermaid(plan))
    drawn = [n for cells in boxes.values() for n in cells]
    assert sorted(drawn) == _code_cells(notebook)
    for c in plan.cells:
        assert c.number in boxes[str(c.stage) if c.stage else "left_out"]


def test_an_arrow_carries_the_names_read_and_an_order_only_one_is_dotted() -> None:
    diagram = mermaid(_plan(TITANIC))
    assert '  c16 -->|"X_train, y_train"| c17\n' in diagram
    # cell 10 rewrites `train`, which cell 8 read: it runs after 8, reads nothing of it
    assert "  c8 -.-> c10\n" in diagram


def _hostile_plan(text: str) -> Plan:
    return Plan(
        notebook=f"{text}.ipynb",
        package="n",
        cells=(
            CellPlan(1, None, text),
            CellPlan(2, Stage.TRAINING, "fits", depends_on=(1,)),
        ),
        stages=(),
        params=(),
        helpers=(),
    )


HOSTILE = 'a "quoted"] --> x[<b>&#</b>'


def test_a_reason_cannot_break_out_of_its_label() -> None:
    diagram = mermaid(_hostile_plan(HOSTILE))
    (label,) = re.findall(r'c1\["([^"]*)"\]', diagram)
    assert label.startswith("cell 1<br/>a #34;quoted#34;#93; --#62; x#91;#60;b#62;")
    assert not re.search(r"[\"<>\[\]&]", label.removeprefix("cell 1<br/>"))


# The SVG, read as an XML parser reads it.


def _cells(picture: str) -> dict[int, tuple[str, list[str], dict[str, float]]]:
    """Each cell the SVG draws: the stage box it is in, its lines of text, and
    where its box is."""
    root = ET.fromstring(picture)
    found = {}
    for stage in root.iter(f"{SVG}g"):
        if "stage" not in stage.get("class", "").split():
            continue
        box = _rect(stage.find(f"{SVG}rect"))
        for cell in stage.iter(f"{SVG}g"):
            if "cell" not in cell.get("class", "").split():
                continue
            number = int(cell.get("data-cell", ""))
            assert number not in found, f"cell {number} is drawn twice"
            at = _rect(cell.find(f"{SVG}rect"))
            assert box["x"] < at["x"] and at["x"] + at["w"] < box["x"] + box["w"]
            assert box["y"] < at["y"] and at["y"] + at["h"] < box["y"] + box["h"]
            lines = [t.text or "" for t in cell.iter(f"{SVG}tspan")]
            found[number] = (stage.get("data-stage", ""), lines, at)
    return found


def _rect(rect: ET.Element | None) -> dict[str, float]:
    assert rect is not None
    names = {"x": "x", "y": "y", "w": "width", "h": "height"}
    return {k: float(rect.get(name, "")) for k, name in names.items()}


def _drawn_arrows(picture: str) -> set[tuple[int, int, str, bool]]:
    """(from, to, the names written on it, dashed) of every arrow of the SVG."""
    root = ET.fromstring(picture)
    names = {
        (int(t.get("data-from", "")), int(t.get("data-to", ""))): t.text or ""
        for t in root.iter(f"{SVG}text")
        if t.get("class") == "names"
    }
    arrows = set()
    for path in root.iter(f"{SVG}path"):
        if "edge" in path.get("class", "").split():
            ends = int(path.get("data-from", "")), int(path.get("data-to", ""))
            assert path.get("marker-end") == "url(#plan-picture-arrow)"
            assert re.fullmatch(r"M[\d.,]+ C[\d.,]+ [\d.,]+ [\d.,]+", path.get("d", ""))
            dashed = "order" in path.get("class", "").split()
            arrows.add((*ends, names.get(ends, ""), dashed))
    return arrows


@pytest.mark.parametrize("notebook", EXAMPLE_NOTEBOOKS, ids=lambda p: p.stem)
def test_the_svg_draws_every_code_cell_in_its_stage_box_and_every_arrow(
    notebook: Path,
) -> None:
    plan = _plan(notebook)
    picture = svg(plan)
    cells = _cells(picture)
    assert sorted(cells) == _code_cells(notebook)
    functions = dict(
        re.findall(r'c(\d+)\["cell \d+<br/>([\w.]+\(\))"\]', mermaid(plan))
    )
    for c in plan.cells:
        stage, lines, _ = cells[c.number]
        assert lines[0] == f"cell {c.number}"
        if c.stage is not None:
            assert stage == str(c.stage)
            assert lines[1:] == [functions[str(c.number)]]
        else:  # the reason, cut short as in the Mermaid label, on a few lines
            assert stage == "left_out"
            shown = " ".join(lines[1:])
            reason = c.reason.removeprefix("excluded: ")
            assert reason == shown or reason.startswith(shown.removesuffix("…"))
            assert 1 <= len(lines[1:]) <= 3
    expected = {(a, b, _shown(names), not names) for a, b, names in _arrows(plan)}
    assert _drawn_arrows(picture) == expected


def test_the_svg_names_titanics_arrows_and_dashes_an_order_only_one() -> None:
    arrows = _drawn_arrows(svg(_plan(TITANIC)))
    assert (16, 17, "X_train, y_train", False) in arrows
    assert (8, 10, "", True) in arrows


def test_the_svg_is_the_same_bytes_for_the_same_plan() -> None:
    """In process, and from the command line under other hash seeds (a set's
    order must never reach the picture)."""
    picture = svg(_plan(TITANIC))
    assert svg(_plan(TITANIC)) == picture
    for seed in ("1", "2"):
        done = run_nbprod(
            "plan",
            TITANIC,
            "--format",
            "svg",
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == picture


def test_text_in_the_svg_is_escaped() -> None:
    picture = svg(_hostile_plan(HOSTILE))
    assert "<b>" not in picture
    cells = _cells(picture)  # parses: nothing in it ended an element early
    _, lines, _ = cells[1]
    assert " ".join(lines[1:]) == HOSTILE
    title = ET.fromstring(picture).find(f"{SVG}title")
    assert (
        title is not None
        and title.text == f"{HOSTILE}.ipynb: where every code cell went"
    )
    assert (1, 2, "", True) in _drawn_arrows(picture)


def test_the_page_holds_its_picture_and_loads_nothing() -> None:
    plan = _plan(TITANIC)
    page = html_page(plan)
    assert svg(plan) in page
    assert "<script" not in page.lower()
    # The one URL is SVG's namespace, a name, never fetched.
    assert re.findall(r"https?://[^\s\"'<>]+", page) == ["http://www.w3.org/2000/svg"]
    assert not re.search(r"\b(src|href)\s*=", page)
    assert re.findall(r"url\(([^)]*)\)", page) == ["#plan-picture-arrow"] * len(
        _arrows(plan)
    )
    assert "default-src 'none'" in page


# The page in a browser with no network.


@pytest.mark.e2e
def test_the_titanic_plan_page_draws_every_cell_in_chromium_offline(
    tmp_path: Path,
) -> None:
    done = run_nbprod("plan", TITANIC, "--format", "html")
    assert done.returncode == 0, done.stderr
    page = tmp_path / "plan.html"
    page.write_text(done.stdout, encoding="utf-8")
    plan = _plan(TITANIC)

    dumped = offline_chromium(tmp_path, page, "--dump-dom")
    assert dumped.returncode == 0, dumped.stderr
    assert page_requests(tmp_path / "net.json") == []
    (picture,) = re.findall(r"<svg\b.*?</svg>", dumped.stdout, re.S)
    cells = _cells(picture)  # as the browser parsed the page
    assert sorted(cells) == _code_cells(TITANIC)
    for c in plan.cells:
        assert cells[c.number][0] == (str(c.stage) if c.stage else "left_out")
        assert cells[c.number][1][0] == f"cell {c.number}"
    assert len(_drawn_arrows(picture)) == len(_arrows(plan))

    # The picture alone, at its own size: every cell's box in its stage's colour
    # where the SVG says it is.
    (tmp_path / "plan.svg").write_text(svg(plan), encoding="utf-8")
    width, height = (
        round(float(v))
        for v in re.findall(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', picture)[0]
    )
    screenshot = tmp_path / "titanic-plan.png"
    shot = offline_chromium(
        tmp_path,
        tmp_path / "plan.svg",
        f"--window-size={width},{height}",
        f"--screenshot={screenshot}",
        "--hide-scrollbars",
    )
    assert shot.returncode == 0, shot.stderr
    assert page_requests(tmp_path / "net.json") == []
    if os.environ.get("NBPROD_SCREENSHOTS"):
        shutil.copy(screenshot, Path(os.environ["NBPROD_SCREENSHOTS"]))
    image = Image.open(screenshot).convert("RGB")
    scale = image.width / width
    for number, (stage, _, at) in cells.items():
        colour = STAGE_COLOURS[Stage(stage)] if stage != "left_out" else LEFT_OUT_COLOUR
        # The bottom right of the cell's box, clear of its text and its border.
        x, y = (at["x"] + at["w"] - 4) * scale, (at["y"] + at["h"] - 4) * scale
        pixel = "#{:02x}{:02x}{:02x}".format(*image.getpixel((round(x), round(y))))
        assert pixel == colour, (number, pixel, colour)
    assert len(image.getcolors(maxcolors=1 << 16) or ()) > 50  # text and arrows too
