"""IPython syntax to plain Python, with every magic classified and accounted for.

IPython's own ``TransformerManager`` rewrites magics into ``get_ipython()`` calls;
this module reads those calls back and decides, per magic, whether it is dropped,
unwrapped (``%time stmt`` keeps ``stmt``), turned into a fact (``!pip install x``
is a dependency) or refused with the cell and line.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from typing import Literal

from nbprod.errors import CellError
from nbprod.notebook import Cell
from nbprod.stages import STAGES, Stage

# What a tag or a first-line comment may say: a stage, or "skip" (leave the cell out).
SKIP: Literal["skip"] = "skip"
EXPLICIT = (*(s.value for s in STAGES), SKIP)

# Line magics that only change the interactive session: dropped.
DROPPED_LINE_MAGICS = frozenset(
    {
        "matplotlib",
        "load_ext",
        "reload_ext",
        "autoreload",
        "aimport",
        "config",
        "pinfo",
        "pinfo2",
        "pdoc",
        "pdef",
        "psource",
        "who",
        "whos",
        "who_ls",
        "lsmagic",
        "precision",
        "pwd",
        "ls",
        "history",
        "xmode",
        "pprint",
        "colors",
        "pip",
        "conda",
        "notebook",
        "reset",
        "alias_magic",
        "autosave",
        "automagic",
        "autocall",
        "doctest_mode",
        "dirs",
        "dhist",
        "connect_info",
        "qtconsole",
        "gui",
    }
)
# Shell commands that only look at files or the machine: dropped. A pipeline or
# list of them (``!head data.csv | wc -l``) only looks when each of them does
# and nothing is redirected into a file.
LOOKING_COMMANDS = frozenset(
    {
        "head",
        "tail",
        "cat",
        "less",
        "more",
        "ls",
        "ll",
        "dir",
        "tree",
        "wc",
        "du",
        "df",
        "pwd",
        "file",
        "stat",
        "which",
        "whereis",
        "echo",
        "nvidia-smi",
        "nproc",
        "free",
        "lscpu",
        "uname",
        "hostname",
        "whoami",
        "date",
        "md5sum",
        "sha256sum",
        "grep",
        "cut",
        "sort",
        "uniq",
        "column",
    }
)
# ``pip list`` and friends, ``python --version``: they only report.
LOOKING_SUBCOMMANDS = frozenset(
    {
        ("pip", "list"),
        ("pip", "freeze"),
        ("pip", "show"),
        ("pip3", "list"),
        ("pip3", "freeze"),
        ("pip3", "show"),
        ("conda", "list"),
        ("conda", "info"),
        ("python", "--version"),
        ("python", "-V"),
        ("python3", "--version"),
        ("python3", "-V"),
        ("nvcc", "--version"),
        ("jupyter", "--version"),
    }
)
# Magics that set an environment variable: they become ``os.environ[...] = ...``.
ENV_MAGICS = frozenset({"env", "set_env"})
# Magics that time or profile a statement: the statement stays.
UNWRAPPED_MAGICS = frozenset({"time", "timeit", "prun", "capture"})
# What ``%%capture NAME`` becomes: the context manager the magic runs.
CAPTURE_IMPORT = "from IPython.utils.capture import capture_output"
# Cell magics that only render something: the cell is display-only.
DISPLAY_CELL_MAGICS = frozenset(
    {"html", "javascript", "js", "markdown", "latex", "svg"}
)

# ``# nbprod: training``, in any case, a comment after it allowed; lint's
# ``nbprod: noqa`` comment is no stage mark.
EXPLICIT_COMMENT = re.compile(r"^\s*#\s*nbprod\s*:\s*([A-Za-z]+)\s*(?:#.*)?$")
NOQA = "noqa"
_MAGIC_CALL = re.compile(
    r"^(?:[\w\s,]+=\s*)?get_ipython\(\)\.(run_line_magic|run_cell_magic|system|getoutput)\((.*)\)$",
    re.S,
)


# What nbprod did with a magic: left it out (it only looks or sets the editor
# up), ran its body (``%%time``), made it a dependency (``%pip install``), a
# display, an environment variable (``%env X=1``) or the Python it stands for.
MagicAction = Literal[
    "dropped", "unwrapped", "dependency", "display", "environment", "python"
]


@dataclass(frozen=True)
class Magic:
    """A magic found in a cell and what nbprod did with it."""

    line: int
    text: str
    action: MagicAction


@dataclass(frozen=True)
class NormalCell:
    """A code cell as plain Python, with the facts its magics gave."""

    number: int
    code: str
    explicit: Stage | Literal["skip"] | None
    explicit_source: str | None
    is_parameters: bool
    magics: tuple[Magic, ...] = ()
    dependencies: tuple[str, ...] = ()
    display_magic: str | None = None
    # modules the code uses that no import of the cell binds (``%env`` -> os),
    # or the import statement of a name (``%%capture out`` -> CAPTURE_IMPORT)
    imports: tuple[str, ...] = ()


def _explicit(cell: Cell) -> tuple[Stage | Literal["skip"] | None, str | None]:
    for tag in cell.tags:
        if tag.startswith("nbprod:"):
            stage = tag.split(":", 1)[1].strip()
            if stage not in EXPLICIT:
                raise CellError(
                    f"unknown nbprod tag {tag!r}",
                    where=f"cell {cell.number}",
                    hint=f"use one of {', '.join('nbprod:' + s for s in EXPLICIT)}",
                )
            return _marked(stage), f"tag {tag}"
    first = cell.source.lstrip("\n").split("\n", 1)[0]
    match = EXPLICIT_COMMENT.match(first)
    if match and match.group(1).lower() != NOQA:
        stage = match.group(1).lower()
        if stage not in EXPLICIT:
            raise CellError(
                f"unknown stage {stage!r} in '# nbprod:' comment",
                where=f"cell {cell.number}, line 1",
                hint=f"use one of {', '.join(EXPLICIT)}",
            )
        return _marked(stage), f"comment '# nbprod: {stage}'"
    return None, None


def _marked(word: str) -> Stage | Literal["skip"]:
    return SKIP if word == SKIP else Stage(word)


def _pip_requirements(command: str) -> tuple[str, ...]:
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    if (
        len(words) < 2
        or words[0] not in {"pip", "pip3", "conda", "mamba"}
        or words[1] != "install"
    ):
        return ()
    return tuple(
        w for w in words[2:] if not w.startswith("-") and not w.startswith("$")
    )


def _commands(command: str) -> list[list[str]] | None:
    """The simple commands of a shell line (split at ``|``, ``&&``, ``||``,
    ``;``), or None when it redirects into a file or cannot be read."""
    try:
        lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        return None
    commands: list[list[str]] = [[]]
    for word in words:
        if word in {"|", "&&", "||", ";"}:
            commands.append([])
        elif set(word) <= set("<>&|;()"):
            return None  # a redirection, a background job, a subshell
        else:
            commands[-1].append(word)
    return [c for c in commands if c] or None


def _only_looks(command: str) -> bool:
    """Every command of the line only looks (LOOKING_COMMANDS)."""
    commands = _commands(command)
    return commands is not None and all(
        c[0] in LOOKING_COMMANDS or tuple(c[:2]) in LOOKING_SUBCOMMANDS
        for c in commands
    )


def _made_folders(command: str) -> tuple[str, ...]:
    """The folders of ``mkdir [-p] DIR...``, when that is the whole line and
    the names are plain (no ``$var`` or ``{expr}`` for IPython to expand)."""
    commands = _commands(command)
    if not commands or len(commands) != 1 or commands[0][0] != "mkdir":
        return ()
    folders = [w for w in commands[0][1:] if not w.startswith("-")]
    if not folders or any(re.search(r"[${}*?~]", f) for f in folders):
        return ()
    return tuple(folders)


def _magic_args(call: str, count: int, where: str, original: str) -> list[str]:
    """The first ``count`` string arguments of a ``get_ipython()`` call. IPython
    writes them; a cell can also hold such a call written by hand, with any
    arguments, and that is refused rather than crashed on."""
    try:
        node = ast.parse(f"f({call})", mode="eval").body
        # Two calls on a line parse as one expression that is not a call.
        args = node.args if isinstance(node, ast.Call) else []
        values = [ast.literal_eval(a) for a in args]
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        values = []
    if len(values) < count or not all(isinstance(v, str) for v in values[:count]):
        raise CellError(
            f"IPython syntax that nbprod cannot convert: {original}",
            where=where,
            hint="rewrite it in plain Python or tag the cell nbprod:skip",
        )
    return values


def normalise_cell(cell: Cell) -> NormalCell:
    """Return ``cell`` as plain Python; raise CellError for what cannot be converted."""
    explicit, explicit_source = _explicit(cell)
    is_parameters = "parameters" in cell.tags
    source = cell.source
    if explicit == "skip":
        # The user excluded it: its contents need not even be Python.
        return NormalCell(cell.number, "", explicit, explicit_source, is_parameters)
    if "%" not in source and "!" not in source and "?" not in source:
        return NormalCell(cell.number, source, explicit, explicit_source, is_parameters)
    code = _transformed(cell)
    if code.rstrip("\n") == source.rstrip("\n"):
        return NormalCell(cell.number, source, explicit, explicit_source, is_parameters)

    lines = code.split("\n")
    if lines and lines[0].startswith("get_ipython().run_cell_magic("):
        return _cell_magic(cell, code, explicit, explicit_source, is_parameters)

    converted = [_line(cell, lineno, line) for lineno, line in enumerate(lines, 1)]
    return NormalCell(
        cell.number,
        "\n".join(c.code for c in converted),
        explicit,
        explicit_source,
        is_parameters,
        tuple(c.magic for c in converted if c.magic is not None),
        tuple(d for c in converted for d in c.dependencies),
        imports=tuple(dict.fromkeys(i for c in converted for i in c.imports)),
    )


def _transformed(cell: Cell) -> str:
    """What is the cell's source as IPython's TransformerManager rewrites it?"""
    # Imported here: most cells have no IPython syntax, and IPython costs a
    # tenth of a second to import.
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        code: str = TransformerManager().transform_cell(cell.source)
    except Exception as exc:  # IPython raises SyntaxError and friends on odd input
        raise CellError(
            f"cannot read IPython syntax ({exc})", where=f"cell {cell.number}"
        ) from None
    return code


@dataclass(frozen=True)
class _Line:
    """One line of a cell as plain Python, with the magic it was, if any, and
    what that magic gave: requirements to install, modules to import."""

    code: str
    magic: Magic | None = None
    dependencies: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class _MagicLine:
    """Where a magic is: its line, as the notebook wrote it, and its indent."""

    lineno: int
    original: str
    where: str
    indent: str

    def becomes(self, action: MagicAction, code: str, *imports: str) -> _Line:
        """The line ``code``, indented, for a magic nbprod did ``action`` with."""
        return _Line(
            self.indent + code, Magic(self.lineno, self.original, action), (), imports
        )

    def dropped(self, action: MagicAction, dependencies: tuple[str, ...] = ()) -> _Line:
        """The line left empty (``pass`` in a block) for a magic nbprod did
        ``action`` with."""
        return _Line(
            f"{self.indent}pass" if self.indent else "",
            Magic(self.lineno, self.original, action),
            dependencies,
        )


def _line(cell: Cell, lineno: int, line: str) -> _Line:
    """What does line ``lineno`` of the transformed cell become in plain Python?"""
    if "get_ipython()" not in line:
        return _Line(line)
    indent = line[: len(line) - len(line.lstrip())]
    stripped = line.strip()
    where = f"cell {cell.number}, line {lineno}"
    original = (
        cell.source.split("\n")[lineno - 1].strip()
        if lineno <= len(cell.source.split("\n"))
        else stripped
    )
    match = _MAGIC_CALL.match(stripped)
    if not match:
        raise CellError(
            f"IPython syntax that nbprod cannot convert: {original}",
            where=where,
            hint="rewrite it in plain Python or tag the cell nbprod:skip",
        )
    kind, args = match.groups()
    values = _magic_args(
        args, 1 if kind in ("system", "getoutput") else 2, where, original
    )
    if kind != "getoutput" and not stripped.startswith("get_ipython()"):
        raise CellError(
            f"the result of a magic cannot be converted: {original}",
            where=where,
            hint="rewrite it in plain Python or tag the cell nbprod:skip",
        )
    if kind == "getoutput":
        raise CellError(
            f"shell output capture cannot be converted: {original}",
            where=where,
            hint="use subprocess.run(..., capture_output=True)",
        )
    magic = _MagicLine(lineno, original, where, indent)
    if kind == "system":
        return _shell_line(magic, values[0])
    return _line_magic(magic, values[0], values[1])


def _shell_line(magic: _MagicLine, command: str) -> _Line:
    """What does the shell command ``!command`` become in plain Python?"""
    reqs = _pip_requirements(command)
    folders = _made_folders(command)
    if reqs:
        return magic.dropped("dependency", reqs)
    if _only_looks(command):
        return magic.dropped("dropped")
    if folders:
        # ``!mkdir -p out`` as Python: later cells write into the folder.
        made = "; ".join(f"os.makedirs({f!r}, exist_ok=True)" for f in folders)
        return magic.becomes("python", made, "os")
    raise CellError(
        f"shell command cannot be converted: !{command}",
        where=magic.where,
        hint="do it in Python (subprocess, pathlib, urllib), delete the "
        "line if its result is already beside the notebook, or tag the "
        "cell nbprod:skip",
    )


def _line_magic(magic: _MagicLine, name: str, arg: str) -> _Line:
    """What does the line magic ``%name arg`` become in plain Python?"""
    if name in ENV_MAGICS:
        assignment = _environment(name, arg, magic.where, magic.original)
        if assignment:
            return magic.becomes("environment", assignment, "os")
        return magic.dropped("dropped")  # ``%env`` or ``%env X`` only shows values
    if name in DROPPED_LINE_MAGICS:
        reqs = _pip_requirements(f"pip {arg}") if name in {"pip", "conda"} else ()
        return magic.dropped("dropped", reqs)
    if name in UNWRAPPED_MAGICS:
        return magic.becomes("unwrapped", _strip_magic_options(arg))
    raise CellError(
        f"magic %{name} cannot be converted: {magic.original}",
        where=magic.where,
        hint="rewrite it in plain Python or tag the cell nbprod:skip",
    )


def _environment(name: str, arg: str, where: str, original: str) -> str | None:
    """``%env X=1``, ``%env X 1`` and ``%set_env X=1`` as Python, split as IPython
    splits them (``os.environ["X"] = "1"``); None for ``%env`` and ``%env X``,
    which only show values."""
    split = "=" if "=" in arg else " "
    if name == "env" and len(arg.split(split)) == 1:
        return None
    bits = arg.split(split, 1)
    if not arg.strip() or len(bits) < 2:
        raise CellError(
            f"%{name} needs a variable and a value: {original}",
            where=where,
            hint="write it as %env NAME=value",
        )
    var, value = bits[0].strip(), bits[1].strip()
    if not var or re.search(r"\s", var):
        raise CellError(  # IPython refuses it too
            f"%{name} of a variable name with spaces: {original}",
            where=where,
            hint="write it as %env NAME=value",
        )
    if "$" in arg or "{" in arg:
        # IPython expands $name and {expr} from the notebook's variables first.
        raise CellError(
            f"%{name} with IPython's variable expansion cannot be converted: {original}",
            where=where,
            hint='set it in Python: os.environ["NAME"] = value',
        )
    return f"os.environ[{var!r}] = {value!r}"


def _captured_name(arg: str) -> str | None:
    """The name ``%%capture [--no-stderr] [--no-stdout] [--no-display] NAME``
    binds, if any."""
    words = [w for w in arg.split() if not w.startswith("-")]
    return words[0] if len(words) == 1 and words[0].isidentifier() else None


def _strip_magic_options(arg: str) -> str:
    # ``%timeit -n 10 -r 3 f(x)`` keeps ``f(x)``.
    words = arg.split(" ")
    i = 0
    while i < len(words) and words[i].startswith("-"):
        i += 2 if words[i] in {"-n", "-r"} else 1
    return " ".join(words[i:])


def _cell_magic(
    cell: Cell,
    code: str,
    explicit: Stage | Literal["skip"] | None,
    explicit_source: str | None,
    is_parameters: bool,
) -> NormalCell:
    first = code.split("\n", 1)[0]
    match = _MAGIC_CALL.match(first.strip())
    if not match:  # pragma: no cover - TransformerManager always emits one call
        raise CellError("unreadable cell magic", where=f"cell {cell.number}, line 1")
    header = cell.source.lstrip("\n").split("\n", 1)[0].strip()
    name, _line, body = _magic_args(
        match.group(2), 3, f"cell {cell.number}, line 1", header
    )[:3]
    captured = _captured_name(_line) if name == "capture" else None
    if captured:
        # ``%%capture out`` binds ``out`` to what the body printed: IPython's own
        # capture_output, which %%capture runs, works outside a kernel too. The
        # body keeps its lines, one level in.
        body_lines = body.split("\n")
        return NormalCell(
            cell.number,
            f"with capture_output() as {captured}:\n"
            + "\n".join(f"    {line}" if line.strip() else line for line in body_lines)
            + ("" if any(line.strip() for line in body_lines) else "    pass"),
            explicit,
            explicit_source,
            is_parameters,
            (Magic(1, header, "python"),),
            imports=(CAPTURE_IMPORT,),
        )
    if name in UNWRAPPED_MAGICS:
        # The body starts on line 2: keep line 1 blank so line numbers stay the notebook's.
        return NormalCell(
            cell.number,
            "\n" + body,
            explicit,
            explicit_source,
            is_parameters,
            (Magic(1, header, "unwrapped"),),
        )
    if name in DISPLAY_CELL_MAGICS:
        return NormalCell(
            cell.number,
            "",
            explicit,
            explicit_source,
            is_parameters,
            (Magic(1, header, "display"),),
            display_magic=name,
        )
    raise CellError(
        f"cell magic %%{name} is not Python and cannot be converted",
        where=f"cell {cell.number}, line 1",
        hint="port it to Python or tag the cell nbprod:skip",
    )
