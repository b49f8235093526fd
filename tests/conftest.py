"""pytest's options, fixtures and hooks for nbprod's tests (what the tests share
is the ``tests.helpers`` package)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.paths import copy_examples


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ from the current output instead of comparing",
    )
    parser.addoption(
        "--corpus",
        default=None,
        help="folder built by ../shared/corpus/build_dev_corpus.sh, or ../shared/corpus/course (for -m corpus)",
    )


@pytest.fixture()
def examples_copy(tmp_path: Path) -> Path:
    return copy_examples(tmp_path)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "corpus_notebook" in metafunc.fixturenames:
        folder = metafunc.config.getoption("--corpus")
        # The dev corpus keeps its notebooks in one folder; the course set, each
        # in a folder of its own with its data.
        notebooks = (
            sorted(
                {
                    *Path(folder).glob("notebooks/*.ipynb"),
                    *Path(folder).glob("*/*.ipynb"),
                }
            )
            if folder
            else []
        )
        metafunc.parametrize("corpus_notebook", notebooks, ids=lambda p: p.stem)


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    # The corpus tests need notebooks built outside the repo: they run only when asked
    # for with --corpus, and are deselected (not skipped) otherwise.
    if config.getoption("--corpus"):
        return
    deselected = [item for item in items if item.get_closest_marker("corpus")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("corpus")]
