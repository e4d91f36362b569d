"""The layers the package's layout shows: a Flask-free client and store under a thin Flask
integration, and dependencies that point one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "flask_capture_link"

#: What no module of a Flask-free layer may import.
WEB = ("flask", "werkzeug", "flask_login", "flask_wtf", "flask_babel", "flask_session", "jinja2")


def imports(path: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports: ``(name, level)`` (``level`` > 0: relative)."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
    return found


def modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).glob("*.py"))


@pytest.mark.parametrize("path", [*modules("client"), PACKAGE / "sealing.py"], ids=str)
def test_the_client_layer_imports_no_flask_and_nothing_of_the_package_outside_it(
    path: Path,
) -> None:
    for name, level in imports(path):
        assert name.split(".")[0] not in WEB, f"{path.name} imports {name}"
        assert level <= 1, f"{path.name} imports from outside its layer: {'.' * level}{name}"
        assert not name.startswith("flask_capture_link"), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", modules("store"), ids=str)
def test_the_store_imports_no_flask_and_of_the_package_only_the_client(path: Path) -> None:
    for name, level in imports(path):
        assert name.split(".")[0] not in WEB, f"{path.name} imports {name}"
        if level == 2:  # sealing is Flask-free too (held above); the secret comes from the caller
            assert name.startswith(("client", "sealing")), f"{path.name} imports ..{name}"
        assert level <= 2


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=str)
def test_nothing_imports_the_views_but_the_extension_s_registration(path: Path) -> None:
    if path.name == "extension.py":
        return  # init_app registers the blueprint
    for name, level in imports(path):
        assert not (level == 1 and name.split(".")[0] == "views"), f"{path.name} imports views"


#: What each module of the views may import of its siblings: one way, no circle.
VIEWS_IMPORT = {
    "__init__.py": {"blueprint", "link", "social"},
    "blueprint.py": set(),
    "flow.py": {"blueprint"},
    "social.py": {"blueprint", "flow"},
    "link.py": {"blueprint", "flow", "social"},
}


def test_every_module_of_the_views_is_placed() -> None:
    assert {path.name for path in modules("views")} == set(VIEWS_IMPORT)


def siblings(path: Path) -> set[str]:
    """The modules of its own package that ``path`` imports (``from .x import`` and
    ``from . import x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
    return found


@pytest.mark.parametrize("path", modules("views"), ids=str)
def test_the_views_import_each_other_one_way(path: Path) -> None:
    assert siblings(path) <= VIEWS_IMPORT[path.name]


@pytest.mark.parametrize("path", modules("emulator"), ids=str)
def test_the_emulator_stands_for_capture_and_imports_nothing_of_the_extension(
    path: Path,
) -> None:
    for name, level in imports(path):
        assert level <= 1, f"{path.name} imports {'.' * level}{name}"
        assert not name.startswith("flask_capture_link"), f"{path.name} imports {name}"
