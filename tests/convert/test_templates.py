"""Every template renders with a full set of facts and fails loudly without one."""

from __future__ import annotations

import jinja2
import pytest
from jinja2 import meta

from nbprod.commands.convert import analyse
from nbprod.convert.analysis import collect_imports
from nbprod.convert.generate import generate_modules
from nbprod.convert.plan.metrics import monitored_metrics
from nbprod.convert.project_facts import project_facts
from nbprod.convert.render import PROJECT_FILES, environment, render
from nbprod.notebook import read_notebook
from nbprod.validate.card import card_facts
from tests.helpers.environment import FIXED_ENVIRONMENT
from tests.helpers.paths import EXAMPLES


@pytest.fixture(scope="module")
def facts() -> dict:
    a = analyse(read_notebook(EXAMPLES / "titanic_mlops_poc.ipynb"))
    generated = generate_modules(a.plan, a.parsed, a.facts, collect_imports(a.parsed))
    return project_facts(
        a.plan,
        notebook_file="titanic_mlops_poc.ipynb",
        notebook_sha256=a.notebook.sha256,
        imports_from=generated.imports_from,
        roots=generated.roots,
        env=FIXED_ENVIRONMENT,
        card=card_facts(a.plan),
        monitored=monitored_metrics(a.plan, a.facts),
    ).variables()


def used_facts(template: str) -> set[str]:
    env = environment()
    source = env.loader.get_source(env, template)[0]
    return meta.find_undeclared_variables(env.parse(source))


@pytest.mark.parametrize("template", sorted(PROJECT_FILES))
def test_template_renders_with_every_fact(template: str, facts: dict) -> None:
    text = render(template, facts)
    assert text.strip()
    assert "None" not in text.splitlines()[0]


@pytest.mark.parametrize("template", sorted(PROJECT_FILES))
def test_a_missing_fact_is_an_error_not_a_blank(template: str, facts: dict) -> None:
    names = used_facts(template)
    assert names, f"{template} uses no facts"
    for name in sorted(names):
        partial = {k: v for k, v in facts.items() if k != name}
        with pytest.raises(jinja2.UndefinedError):
            render(template, partial)


def test_characterization_template() -> None:
    template = "project/tests/test_characterization.py.j2"
    assert "test_pipeline_reproduces_the_notebook" in render(
        template, {"package": "p", "names": ["x"], "seed": 0}
    )
    for missing in (
        {"names": ["x"], "seed": 0},
        {"package": "p", "seed": 0},
        {"package": "p", "names": ["x"]},
    ):
        with pytest.raises(jinja2.UndefinedError):
            render(template, missing)
