"""Project files from the Jinja2 templates in ``templates/``, and the plain files
there that every project gets unchanged.

Pure: facts in, ``{relative path: text}`` out. StrictUndefined makes a missing fact
an error, never an empty string.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache, lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import jinja2
import jinja2.bccache
import yaml

from nbprod.cache import user_cache


def templates_dir() -> Path:
    """Where the templates are: inside the wheel, or at the top of a source checkout."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "templates", package.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "nbprod's templates folder is missing from this installation"
    )


def _yaml(value: Any) -> str:
    if isinstance(value, jinja2.Undefined):
        str(
            value
        )  # StrictUndefined raises here: a missing fact is never dumped as YAML
    text = yaml.safe_dump(
        value, default_flow_style=True, sort_keys=False, width=1000
    ).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _python(value: Any) -> str:
    """A Python literal of ``value`` (black turns its quotes into double ones)."""
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises here, as in _yaml
    return repr(value)


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's own cache of compiled templates, in the user's cache folder:
    compiling the templates was a tenth of a conversion. Jinja checks each entry
    against its template's source and its own version."""

    def __init__(self) -> None:
        folder = user_cache("templates")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # dump_bytecode finds no folder, and says nothing
        super().__init__(str(folder), "%s.cache")

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            pass  # a cache that cannot be read is no cache, not an error

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Jinja environment: strict, no autoescape (we render code, not HTML),
    its compiled templates cached."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        bytecode_cache=_BytecodeCache(),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["yaml"] = _yaml
    env.filters["python"] = _python
    return env


def render(template: str, facts: dict[str, Any]) -> str:
    """Render one template with ``facts``."""
    return environment().get_template(template).render(**facts)


# template -> path in the generated project ({package} is replaced)
PROJECT_FILES = {
    "project/pyproject.toml.j2": "pyproject.toml",
    "project/README.md.j2": "README.md",
    "project/MODEL_CARD.md.j2": "MODEL_CARD.md",
    "project/gitignore.j2": ".gitignore",
    "project/github/ci.yml.j2": ".github/workflows/ci.yml",
    "project/pre-commit-config.yaml.j2": ".pre-commit-config.yaml",
    "project/config.yaml.j2": "config.yaml",
    "project/dvc.yaml.j2": "dvc.yaml",
    "project/src/__init__.py.j2": "src/{package}/__init__.py",
    "project/src/__main__.py.j2": "src/{package}/__main__.py",
    "project/src/config.py.j2": "src/{package}/config.py",
    "project/src/pipeline.py.j2": "src/{package}/pipeline.py",
    "project/src/contract.py.j2": "src/{package}/contract.py",
    "project/tests/conftest.py.j2": "tests/conftest.py",
    "project/tests/test_pipeline.py.j2": "tests/test_pipeline.py",
    "project/tests/test_config.py.j2": "tests/test_config.py",
}


def render_project(facts: dict[str, Any]) -> dict[str, str]:
    """Every templated file of the generated project."""
    return {
        path.format(package=facts["package"]): render(template, facts)
        for template, path in PROJECT_FILES.items()
    }


# Plain files of ``templates/``, the same in every project: copied, never rendered,
# so nbprod's own linters, type checker and tests see them as they are shipped.
COPIED_FILES = {
    "project/src/runtime.py": "src/{package}/runtime.py",
    "project/src/scoring.py": "src/{package}/scoring.py",
    "project/src/serving_model.py": "src/{package}/serving_model.py",
    "project/src/serve.py": "src/{package}/serve.py",
    "project/src/monitor.py": "src/{package}/monitor.py",
}


@cache
def _plain_text(template: str) -> str:
    return (templates_dir() / template).read_text(encoding="utf-8")


def copied_files(package: str) -> dict[str, str]:
    """Every file the project gets unchanged from ``templates/``."""
    return {
        path.format(package=package): _plain_text(template)
        for template, path in COPIED_FILES.items()
    }


@cache
def shipped_module(name: str) -> ModuleType:
    """The plain module ``name`` every project gets (``templates/project/src/``),
    as a module of its own (one that imports a sibling, ``.scoring``, cannot be
    loaded so)."""
    path = templates_dir() / "project" / "src" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"nbprod_shipped_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # As an import would: its dataclasses look their module up while made.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def shipped_runtime() -> ModuleType:
    """The runtime every project gets (``templates/project/src/runtime.py``):
    where nbprod must decide as the project does (which values are its
    metrics), it asks the one copy, never a second one of its own."""
    return shipped_module("runtime")
