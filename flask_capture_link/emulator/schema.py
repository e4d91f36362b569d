"""The default ``user`` schema, and ``/entity``'s ``attributes`` selection over it.

The attribute names follow Janrain's model of the default schema (jump.ios
``Janrain/JRCapture/Script/simple_capture_demo_schema.json`` and the generated
``JRCaptureUser``/``JRProfilesElement``/``JRProfile`` classes); ``id``, ``uuid``, ``created`` and
``lastUpdated`` are on every record (vendor page "Create an entity type"). Only the parts a
login client's ``/entity`` call can meet are listed; an attribute path is dotted
(``profiles.profile.displayName``), and a plural (``profiles``) applies the rest of the path to
each of its elements. See ``tests/contract/entity.json``.
"""

from __future__ import annotations

import json
from typing import Any

#: A schema node: ``None`` for a value, a dict of child names for an object or a plural.
Node = dict[str, Any]

_NAME: Node = {
    "familyName": None,
    "formatted": None,
    "givenName": None,
    "honorificPrefix": None,
    "honorificSuffix": None,
    "middleName": None,
}
_TYPED_VALUE: Node = {"primary": None, "type": None, "value": None}

#: ``profiles.profile``: the provider's profile of one linked identity.
PROFILE: Node = {
    "aboutMe": None,
    "birthday": None,
    "displayName": None,
    "emails": _TYPED_VALUE,
    "gender": None,
    "name": _NAME,
    "nickname": None,
    "phoneNumbers": _TYPED_VALUE,
    "photos": _TYPED_VALUE,
    "preferredUsername": None,
    "profileUrl": None,
    "urls": _TYPED_VALUE,
    "utcOffset": None,
}

#: One element of the ``profiles`` plural: a linked social identity.
PROFILES_ELEMENT: Node = {
    "id": None,
    "accessCredentials": None,
    "domain": None,
    "followers": {"identifier": None},
    "following": {"identifier": None},
    "friends": {"identifier": None},
    "identifier": None,
    "profile": PROFILE,
    "provider": None,
    "remote_key": None,
    "verifiedEmail": None,
}

#: The ``user`` entity type.
USER: Node = {
    "id": None,
    "uuid": None,
    "created": None,
    "lastUpdated": None,
    "email": None,
    "emailVerified": None,
    "displayName": None,
    "givenName": None,
    "familyName": None,
    "lastLogin": None,
    "password": None,
    "profiles": PROFILES_ELEMENT,
}


class BadAttributes(ValueError):
    """An ``attributes`` value Capture refuses: ``unknown`` names the first unknown path,
    otherwise the value is not a JSON list of attribute paths."""

    def __init__(self, message: str, unknown: str | None = None) -> None:
        super().__init__(message)
        self.unknown = unknown


def parse(attributes: str) -> list[list[str]]:
    """The attribute paths of an ``attributes`` parameter (a JSON list of dotted names).

    :raises BadAttributes: for a value that is not such a list, or a path the schema lacks.
    """
    try:
        names = json.loads(attributes)
    except ValueError:
        raise BadAttributes("attributes must be a JSON array of attribute names") from None
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise BadAttributes("attributes must be a JSON array of attribute names")
    paths = [name.split(".") for name in names]
    for path in paths:
        if not _known(USER, path):
            raise BadAttributes(f"no attribute named {'.'.join(path)}", ".".join(path))
    return paths


def select(record: dict[str, Any], paths: list[list[str]]) -> dict[str, Any]:
    """Only the parts of ``record`` that ``paths`` name (a plural keeps each element)."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for name in path[:-1]:
            child = node.setdefault(name, {})
            if child is True:  # the whole attribute was asked for already
                break
            node = child
        else:
            node[path[-1]] = True
    selected = _project(record, tree)
    return selected if isinstance(selected, dict) else {}


def _known(node: Node, path: list[str]) -> bool:
    name, rest = path[0], path[1:]
    if name not in node:
        return False
    child = node[name]
    if not rest:
        return True
    return isinstance(child, dict) and _known(child, rest)


def _project(value: Any, tree: Any) -> Any:
    if tree is True or value is None:
        return value
    if isinstance(value, list):
        return [_project(item, tree) for item in value]
    if isinstance(value, dict):
        return {name: _project(value.get(name), sub) for name, sub in tree.items()}
    return value
