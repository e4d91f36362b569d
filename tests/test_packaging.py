"""What the package imports is what setup.cfg declares."""

from __future__ import annotations

import ast
import configparser
import re
import sys
from pathlib import Path

import flask_capture_link

PACKAGE = Path(flask_capture_link.__file__).resolve().parent
SETUP_CFG = PACKAGE.parent / "setup.cfg"

#: Imported only by optional parts: the pytest plugin, the Redis state store (the ``redis``
#: extra), Flask-Babel when the site uses it, and type-checking-only names.
OPTIONAL = {"pytest", "redis", "flask_babel", "_typeshed"}

#: Import name -> distribution name, where they differ beyond case and ``-``/``_``.
DISTRIBUTIONS = {"flask_login": "flask-login"}


def imported() -> set[str]:
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {
        name
        for name in found
        if name not in sys.stdlib_module_names and name != "flask_capture_link"
    }


def declared() -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG, encoding="utf-8")
    requirements = {}
    for line in parser["options"]["install_requires"].split("\n"):
        if line.strip():
            name, bound = re.split(r"\s*>=\s*", line.strip())
            requirements[name.lower().replace("_", "-")] = bound
    return requirements


def test_every_import_is_declared_with_a_lower_bound() -> None:
    needed = {
        DISTRIBUTIONS.get(name, name).lower().replace("_", "-") for name in imported() - OPTIONAL
    }
    assert "werkzeug" in needed
    assert needed <= set(declared()), needed - set(declared())
    assert all(re.fullmatch(r"\d+(\.\d+)+", bound) for bound in declared().values())


def test_the_redis_store_is_an_extra_with_a_lower_bound() -> None:
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG, encoding="utf-8")
    extra = [line.strip() for line in parser["options.extras_require"]["redis"].split("\n")]
    assert any(re.fullmatch(r"redis\s*>=\s*\d+(\.\d+)+", line) for line in extra), extra
