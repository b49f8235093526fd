"""The plan as a picture: every code cell in the box of its stage, the names on the
arrows, and the HTML page drawn by the Mermaid release it pins, in headless
Chromium, with no error."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import urllib.request
from pathlib import Path

import nbformat
import pytest
from helpers import EXAMPLE_NOTEBOOKS, EXAMPLES, run_nbprod

from nbprod.convert.build import analyse
from nbprod.convert.picture import (
    MERMAID_INTEGRITY,
    MERMAID_URL,
    MERMAID_VERSION,
    mermaid,
)
from nbprod.convert.plan import CellPlan, Plan
from nbprod.notebook import read_notebook
from nbprod.stages import Stage

TITANIC = EXAMPLES / "titanic_mlops_poc.ipynb"


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


def test_a_reason_cannot_break_out_of_its_label() -> None:
    hostile = 'a "quoted"] --> x[<b>&#</b>'
    plan = Plan(
        notebook="n.ipynb",
        package="n",
        cells=(CellPlan(1, None, hostile), CellPlan(2, Stage.TRAINING, "fits")),
        stages=(),
        params=(),
        helpers=(),
    )
    diagram = mermaid(plan)
    (label,) = re.findall(r'c1\["([^"]*)"\]', diagram)
    assert label.startswith("cell 1<br/>a #34;quoted#34;#93; --#62; x#91;#60;b#62;")
    assert not re.search(r"[\"<>\[\]&]", label.removeprefix("cell 1<br/>"))


def _chromium() -> str:
    found = next(
        filter(None, map(shutil.which, ("chromium", "chromium-browser", "chrome"))),
        None,
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium: .ci/run installs Debian's chromium package")
        pytest.skip("no Chromium on this machine (CI installs it)")
    return found


def _mermaid_library() -> bytes:
    """The file the page loads, from the npm registry (the same bytes the CDN
    serves), checked against the registry's hash of the package and the page's
    own integrity hash; cached between runs."""
    cache = Path(
        os.environ.get("NBPROD_TEST_CACHE", Path.home() / ".cache" / "nbprod-tests")
    )
    path = cache / f"mermaid-{MERMAID_VERSION}.min.js"
    if not path.exists():
        registry = f"https://registry.npmjs.org/mermaid/{MERMAID_VERSION}"
        with urllib.request.urlopen(registry, timeout=60) as response:
            dist = json.load(response)["dist"]
        with urllib.request.urlopen(dist["tarball"], timeout=300) as response:
            tarball = response.read()
        algorithm, digest = dist["integrity"].split("-", 1)
        assert hashlib.new(algorithm, tarball).digest() == base64.b64decode(digest)
        with tarfile.open(fileobj=io.BytesIO(tarball)) as tar:
            member = tar.extractfile("package/dist/mermaid.min.js")
            assert member is not None
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(member.read())
    library = path.read_bytes()
    algorithm, digest = MERMAID_INTEGRITY.split("-", 1)
    assert hashlib.new(algorithm, library).digest() == base64.b64decode(digest)
    return library


@pytest.mark.e2e
def test_the_titanic_plan_page_draws_every_cell_in_its_stage_in_chromium(
    tmp_path: Path,
) -> None:
    from playwright.sync_api import Route, sync_playwright

    chromium = _chromium()
    library = _mermaid_library()
    done = run_nbprod("plan", TITANIC, "--format", "html")
    assert done.returncode == 0, done.stderr
    page_file = tmp_path / "plan.html"
    page_file.write_text(done.stdout, encoding="utf-8")
    plan = _plan(TITANIC)
    problems: list[str] = []

    def serve(route: Route) -> None:
        url = route.request.url
        if url.startswith("file:"):
            route.continue_()
        elif url == MERMAID_URL:
            route.fulfill(
                body=library,
                headers={
                    "Content-Type": "text/javascript",
                    "Access-Control-Allow-Origin": "*",  # for the integrity check
                },
            )
        else:
            problems.append(f"the page asked for {url}")
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on(
            "console",
            lambda m: (
                problems.append(m.text) if m.type in ("error", "warning") else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.route("**/*", serve)
        page.goto(page_file.as_uri())
        page.wait_for_selector("body:not([data-drawn=no])", timeout=60_000)
        drawn = page.get_attribute("body", "data-drawn")
        boxes = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll("svg g.cluster")]
                .map(g => [g.id.replace(/^mermaid-\\d+-/, ""), g.getBoundingClientRect().toJSON()]))"""
        )
        nodes = page.evaluate(
            """() => [...document.querySelectorAll("svg g.node")].map(g => ({
                id: g.id, text: g.textContent, box: g.getBoundingClientRect().toJSON()}))"""
        )
        screenshot = tmp_path / "titanic-plan.png"
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    if os.environ.get("NBPROD_SCREENSHOTS"):
        shutil.copy(screenshot, Path(os.environ["NBPROD_SCREENSHOTS"]))

    assert drawn == "yes" and not problems, (drawn, problems)
    stage_of = {c.number: str(c.stage) if c.stage else "left_out" for c in plan.cells}
    seen = {}
    for node in nodes:
        number = int(re.search(r"flowchart-c(\d+)-", node["id"])[1])  # type: ignore[index]
        assert node["text"].startswith(f"cell {number}")
        box = boxes[stage_of[number]]
        inside = node["box"]
        assert box["left"] <= inside["left"] and inside["right"] <= box["right"]
        assert box["top"] <= inside["top"] and inside["bottom"] <= box["bottom"]
        seen[number] = stage_of[number]
    assert sorted(seen) == _code_cells(TITANIC)
    assert screenshot.stat().st_size > 10_000
