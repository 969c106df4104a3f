"""Every module of ``data``, ``model``, ``analytics`` and ``dashboard`` is named in its
package's module map, and every module a map names exists.

The maps (CONTRIBUTING.md): the docstring of the package's ``__init__.py``, a subpackage's own
``__init__`` docstring (for the modules under it), ``model/README.md`` for the tagger, and the
package's section of CONTRIBUTING.md. A module is named by its dotted name (``data.rollups``,
also as the start of a longer one: ``data.reset.ResetError``), a ``:mod:`` reference, its
path (``dashboard/views/pricing.py``), or in code markup relative to the map's own package
(``demand`` in ``analytics/__init__.py``, ``scopes`` in ``analytics/alerts/__init__.py``,
``app_state.py`` in CONTRIBUTING's dashboard section; a bare file name may also name the one
file of that name below the package, ``parameters.py`` for ``data/demo/parameters.py``). A bare
word in prose ("reset", "safe") names nothing.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("data", "model", "analytics", "dashboard")
_PKG = "|".join(PACKAGES)

DOTTED = re.compile(rf"(?<![\w.])((?:{_PKG})(?:\.\w+)+)")
MOD_ROLE = re.compile(r":mod:`~?\.?([\w.]+)`")
FILE_PATH = re.compile(rf"(?<![\w./-])((?:{_PKG})(?:/\w+)*/\w+\.py)\b")
DIR_PATH = re.compile(rf"(?<![\w./-])((?:{_PKG})(?:/\w+)+)/(?![\w.])")
RST_LITERAL = re.compile(r"``([^`\n]+)``")
MD_LITERAL = re.compile(r"`([^`\n]+)`")
NAME = re.compile(r"\w+")
REL_FILE = re.compile(r"(?:\w+/)*\w+\.py")


@dataclass(frozen=True)
class ModuleMap:
    """One map: its text, where it comes from, and the folder its relative names start at."""

    source: str
    base: Path
    text: str


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _docstring(init: Path) -> str:
    return ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""


def package_modules(package: str) -> list[Path]:
    """Every module file (``__init__``/``__main__`` aside) and every folder of modules
    (a subpackage, or a folder of pages) below ``package``."""
    top = ROOT / package
    found: set[Path] = set()
    for path in top.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        if path.name not in ("__init__.py", "__main__.py"):
            found.add(path)
        folder = path.parent
        while folder != top:
            found.add(folder)
            folder = folder.parent
    return sorted(found)


def contributing_section(package: str) -> str:
    """The ``## <package>`` section of CONTRIBUTING.md (empty when there is none)."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    match = re.search(rf"^## {package}\b.*?(?=^## |\Z)", text, flags=re.M | re.S)
    return match.group(0) if match else ""


def own_maps(package: str) -> list[ModuleMap]:
    """The maps kept in ``package`` itself: its ``__init__`` docstrings and, for the tagger,
    ``model/README.md``."""
    top = ROOT / package
    maps = [
        ModuleMap(_rel(init), init.parent, _docstring(init)) for init in top.rglob("__init__.py")
    ]
    if package == "model":
        maps.append(ModuleMap("model/README.md", top, (top / "README.md").read_text("utf-8")))
    return sorted(maps, key=lambda m: m.source)


def package_maps(package: str) -> list[ModuleMap]:
    """Every map of ``package``: its own maps and its section of CONTRIBUTING.md."""
    section = ModuleMap(
        f"CONTRIBUTING.md ## {package}", ROOT / package, contributing_section(package)
    )
    return [section, *own_maps(package)]


def _resolve_dotted(dotted: str) -> Path | None:
    """The longest prefix of ``dotted`` that is a module or package, as a path."""
    parts = dotted.split(".")
    for end in range(len(parts), 1, -1):
        path = ROOT.joinpath(*parts[:end])
        if path.with_suffix(".py").is_file():
            return path.with_suffix(".py")
        if path.is_dir() and any(path.glob("*.py")):
            return path
    return None


def _resolve_relative(name: str, base: Path) -> Path | None:
    """A name in code markup: ``x`` or ``x/y.py`` relative to ``base``, or a bare ``x.py``
    that is the only file of that name below ``base``."""
    if NAME.fullmatch(name):
        if (base / f"{name}.py").is_file():
            return base / f"{name}.py"
        if (base / name).is_dir() and any((base / name).glob("*.py")):
            return base / name
        return None
    if REL_FILE.fullmatch(name):
        if (base / name).is_file():
            return base / name
        if "/" not in name:
            hits = [p for p in base.rglob(name) if "__pycache__" not in p.parts]
            if len(hits) == 1:
                return hits[0]
    return None


def references(module_map: ModuleMap) -> set[Path]:
    """The modules and folders ``module_map`` names."""
    text = module_map.text
    paths = {ROOT / path for path in FILE_PATH.findall(text) + DIR_PATH.findall(text)}
    dotted = {_resolve_dotted(name) for name in DOTTED.findall(text)}
    literals = RST_LITERAL.findall(text) + MD_LITERAL.findall(RST_LITERAL.sub(" ", text))
    relative = {_resolve_relative(literal.strip(), module_map.base) for literal in literals}
    return paths | {path for path in dotted | relative if path is not None}


def unnamed_modules(package: str) -> list[str]:
    """The modules and folders of ``package`` that no map above them names."""
    maps = [(m, references(m)) for m in package_maps(package)]
    return [
        _rel(module)
        for module in package_modules(package)
        if not any(
            module.is_relative_to(m.base) and module != m.base and module in names
            for m, names in maps
        )
    ]


def stale_references(module_map: ModuleMap) -> list[str]:
    """The ``:mod:`` references and package paths of ``module_map`` that name no module."""
    text = module_map.text
    stale = []
    for target in MOD_ROLE.findall(text):
        if target.split(".")[0] not in PACKAGES:
            continue
        path = ROOT.joinpath(*target.split("."))
        if not (path.with_suffix(".py").is_file() or (path.is_dir() and any(path.glob("*.py")))):
            stale.append(f":mod:`{target}`")
    for path in FILE_PATH.findall(text):
        if not (ROOT / path).is_file():
            stale.append(path)
    for path in DIR_PATH.findall(text):
        if not (ROOT / path).is_dir():
            stale.append(f"{path}/")
    return stale


def all_maps() -> list[ModuleMap]:
    """Every map of every package, CONTRIBUTING.md as a whole."""
    contributing = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    return [ModuleMap("CONTRIBUTING.md", ROOT, contributing)] + [
        m for package in PACKAGES for m in own_maps(package)
    ]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_is_named_in_its_map(package: str) -> None:
    missing = unnamed_modules(package)
    assert not missing, f"{package}: modules no module map names: {missing}"


@pytest.mark.parametrize("module_map", all_maps(), ids=lambda m: m.source)
def test_every_module_a_map_names_exists(module_map: ModuleMap) -> None:
    stale = stale_references(module_map)
    assert not stale, f"{module_map.source} names modules that do not exist: {stale}"


def test_the_check_tells_names_from_words() -> None:
    """Dotted names, ``:mod:``, paths and code markup name a module; prose does not."""
    base = ROOT / "data"
    prose = ModuleMap("prose", base, "A reset is safe; the rollups and entity shards.")
    assert references(prose) == set()
    named = ModuleMap(
        "named",
        base,
        "data.reset.ResetError, :mod:`data.rollups`, dashboard/views/pricing.py, "
        "``heartbeat``, `parameters.py`, dashboard/views/",
    )
    assert references(named) == {
        base / "reset.py",
        base / "rollups.py",
        ROOT / "dashboard/views/pricing.py",
        base / "heartbeat.py",
        base / "demo/parameters.py",
        ROOT / "dashboard/views",
    }
    stale = ModuleMap(
        "stale", base, ":mod:`data.gone`, data/gone.py, :mod:`data.demo`, :mod:`json`"
    )
    assert stale_references(stale) == [":mod:`data.gone`", "data/gone.py"]


def test_a_subpackage_map_names_only_its_own_modules() -> None:
    """``scopes`` in analytics' alerts map names ``analytics/alerts/scopes.py``; the same word
    in the top map would name ``analytics/scopes.py`` (there is none)."""
    alerts = ROOT / "analytics" / "alerts"
    assert alerts / "scopes.py" in references(ModuleMap("a", alerts, "``scopes``"))
    assert references(ModuleMap("t", ROOT / "analytics", "``scopes``")) == set()
