"""The documentation site builds with no warning (links and anchors checked), and
its command-line reference lists every command and option the CLI has."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import click
import nbformat
import pytest

from nbprod.cli import cli
from nbprod.commands.convert import analyse
from nbprod.convert.picture import mermaid
from nbprod.notebook import read_notebook
from tests.helpers.paths import GOLDEN, ROOT


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(Path(sys.executable).parent)},
    )
    assert built.returncode == 0, built.stdout + built.stderr
    return out


def test_every_command_and_option_is_in_the_reference(site: Path) -> None:
    page = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "Sentinel" not in page  # a default the renderer could not show
    assert isinstance(cli, click.Group)
    for name, command in sorted(cli.commands.items()):
        start = page.index(f'id="nbprod-{name}"')
        following = [
            page.index(f'id="nbprod-{other}"')
            for other in cli.commands
            if page.index(f'id="nbprod-{other}"') > start
        ]
        section = _text_of(page[start : min(following, default=len(page))])
        assert f"nbprod {name}" in section
        for param in command.params:
            for opt in param.opts if isinstance(param, click.Option) else ():
                assert re.search(rf"(^|[\s,]){re.escape(opt)}\b", section), (name, opt)
            if isinstance(param, click.Argument):
                assert param.human_readable_name in section, (name, param.name)


def _text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_the_pages_link_only_to_pages_that_exist(site: Path) -> None:
    # (mkdocs --strict already refuses a broken link in the Markdown; this checks
    # the site it wrote, every relative href)
    for page in site.rglob("*.html"):
        for href in re.findall(
            r'href="([^"#:?]+)(?:#[^"]*)?"', page.read_text("utf-8")
        ):
            if href.startswith("/") or href.endswith((".css", ".js")):
                continue
            target = (page.parent / href).resolve()
            assert target.exists() or (target / "index.html").exists(), (page, href)


def _marked_blocks(page: Path) -> list[tuple[str, str, str]]:
    """(mark, language, text) of each fenced block a ``<!-- mark -->`` comment
    announces on the line before it."""
    return re.findall(
        r"^<!-- (.+?) -->\n```(\w+)\n(.*?)^```$",
        page.read_text(encoding="utf-8"),
        flags=re.MULTILINE | re.DOTALL,
    )


def test_before_and_after_shows_the_notebook_and_the_project_as_they_are() -> None:
    page = ROOT / "docs" / "before-after.md"
    notebook = ROOT / "examples" / "notebooks" / "titanic_mlops_poc.ipynb"
    cells = nbformat.read(notebook, as_version=4).cells
    golden = GOLDEN / "titanic_mlops_poc"
    blocks = _marked_blocks(page)
    assert len(blocks) >= 8
    for mark, language, text in blocks:
        assert language == "python", mark
        if mark.startswith("notebook cell "):
            number = int(mark.removeprefix("notebook cell "))
            assert text == cells[number - 1].source + "\n", mark
        else:
            path = golden / mark.removeprefix("generated: ")
            assert text in path.read_text(encoding="utf-8"), mark


def test_every_plan_picture_in_the_docs_is_titanics_as_nbprod_draws_it() -> None:
    notebook = ROOT / "examples" / "notebooks" / "titanic_mlops_poc.ipynb"
    drawn = mermaid(analyse(read_notebook(notebook)).plan)
    pictures = {
        page.relative_to(ROOT).as_posix(): diagram
        for page in sorted((ROOT / "docs").rglob("*.md"))
        for diagram in re.findall(
            r"^```mermaid\n(.*?)^```$",
            page.read_text(encoding="utf-8"),
            flags=re.MULTILINE | re.DOTALL,
        )
    }
    assert "docs/before-after.md" in pictures
    for page, diagram in pictures.items():
        assert diagram == drawn, page


def _keys(value: object) -> set[str]:
    """The field names in a report (not inside a lifted value, which is data)."""
    if isinstance(value, dict):
        return set(value) | {
            k for name, v in value.items() if name != "value" for k in _keys(v)
        }
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_the_report_reference_names_every_field_a_report_has() -> None:
    page = (ROOT / "docs" / "reference" / "report.md").read_text(encoding="utf-8")
    reports = sorted(GOLDEN.glob("*/nbprod-report.json"))
    assert reports
    found = set().union(*(_keys(json.loads(r.read_text("utf-8"))) for r in reports))
    assert sorted(k for k in found if f"`{k}`" not in page) == []
