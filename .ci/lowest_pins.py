"""Print ``name==version`` for each ``name>=version`` of setup.cfg's install_requires and of
the ``redis`` extra (the state store's client, which the core suite uses too).

CI installs these exact versions in a second virtualenv and runs the core suite there, so the
lower bounds setup.cfg declares stay true.
"""

from __future__ import annotations

import configparser
import re
import sys
from pathlib import Path

SETUP_CFG = Path(__file__).resolve().parents[1] / "setup.cfg"


def lowest_pins(setup_cfg: Path = SETUP_CFG) -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(setup_cfg, encoding="utf-8")
    pins = []
    lines = parser["options"]["install_requires"].split("\n")
    lines += parser["options.extras_require"]["redis"].split("\n")
    for line in lines:
        found = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][^,;\s]*)\s*", line)
        if found:
            pins.append(f"{found.group(1)}=={found.group(2)}")
        elif line.strip():
            sys.exit(f"setup.cfg: no lower bound in {line.strip()!r}")
    return pins


if __name__ == "__main__":
    print("\n".join(lowest_pins()))
