"""What setup.cfg declares: what the package imports, extras for sites, metadata for a registry."""

from __future__ import annotations

import ast
import configparser
import re
import subprocess
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


def metadata() -> configparser.SectionProxy:
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG, encoding="utf-8")
    return parser["metadata"]


#: The target of ``[text](target)``, or of a reference definition ``[label]: target``.
MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)|^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)", re.MULTILINE)


def long_description() -> str:
    source = metadata()["long_description"]
    assert source.startswith("file:"), source
    return (SETUP_CFG.parent / source.removeprefix("file:").strip()).read_text(encoding="utf-8")


def test_the_long_description_has_no_relative_link() -> None:
    # A registry shows the README away from the repository: a relative link leads nowhere.
    text = long_description()
    targets = [inline or defined for inline, defined in MARKDOWN_LINK.findall(text)]
    targets += re.findall(r"""(?:href|src)\s*=\s*["']([^"']+)""", text)
    assert len(targets) > 10, targets
    assert [t for t in targets if not t.startswith("https://")] == []


def test_the_readme_links_where_the_project_urls_point() -> None:
    urls = dict(
        (part.strip() for part in line.split("=", 1))
        for line in metadata()["project_urls"].splitlines()
        if line.strip()
    )
    assert set(urls) == {"Documentation", "Source", "Changes", "Issues"}
    assert urls["Changes"] == urls["Source"] + "/blob/main/CHANGES.md"
    assert urls["Issues"] == urls["Source"] + "/issues"
    text = long_description()
    targets = [inline or defined for inline, defined in MARKDOWN_LINK.findall(text)]
    prefixes = (urls["Documentation"] + "en/latest/", urls["Source"] + "/blob/main/")
    assert [t for t in targets if not t.startswith(prefixes)] == []
    assert urls["Changes"] in targets


#: The developers' tools: requirement files, not extras a site would see on the registry.
TOOLS = ("test", "docs", "example")


def test_extras_are_for_sites_and_tools_are_in_requirements_files() -> None:
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG, encoding="utf-8")
    extras = set(parser["options.extras_require"])
    assert not extras & set(TOOLS)
    for name in TOOLS:
        path = SETUP_CFG.parent / "requirements" / f"{name}.txt"
        lines = [
            line.strip()
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")
        ]
        # The package itself first, editable, with the extras it needs.
        first = re.fullmatch(r"-e \.(?:\[([a-z,]+)\])?", lines[0])
        assert first, (path.name, lines[0])
        assert set(filter(None, (first.group(1) or "").split(","))) <= extras
        # A lower bound on each, as setup.cfg's (.ci/lowest keeps those true).
        for line in lines[1:]:
            assert re.fullmatch(r"[A-Za-z0-9_.\-]+>=\d+(\.\d+)*", line), (path.name, line)


def test_the_metadata_says_what_a_registry_shows() -> None:
    classifiers = [line.strip() for line in metadata()["classifiers"].splitlines() if line.strip()]
    assert {"Framework :: Flask", "Typing :: Typed"} <= set(classifiers)
    # The licence is its SPDX expression: setuptools deprecates "License ::" classifiers beside it.
    assert metadata()["license"] == "BSD-3-Clause"
    assert [c for c in classifiers if c.startswith("License ::")] == []
    # A classifier for each Python python_requires admits, up to the newest the suite ran on.
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG, encoding="utf-8")
    lowest = int(parser["options"]["python_requires"].removeprefix(">=3."))
    versions = {
        c.rsplit(" :: ", 1)[1]
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    assert versions == {f"3.{minor}" for minor in range(lowest, 14)}


def test_make_demo_takes_the_ports_it_is_given() -> None:
    import shutil

    make = shutil.which("make")
    assert make is not None, "make is needed for the Makefile's own test"
    root = Path(__file__).resolve().parents[1]
    planned = subprocess.run(
        [make, "-n", "-o", ".venv/.installed-example", "demo", "PORT=5055", "EMULATOR_PORT=0"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "-m example_app.demo --port 5055 --emulator-port 0" in planned
