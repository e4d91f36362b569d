"""The link state, checked directly: signing, binding, expiry, single use, bounded session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, current_app
from itsdangerous import URLSafeTimedSerializer

from flask_capture_link import state
from flask_capture_link.store import MemoryStateStore, StateStoreUnavailable


@pytest.fixture
def ctx() -> Iterator[Flask]:
    app = Flask(__name__)
    app.secret_key = "state test key"
    app.extensions["test store"] = MemoryStateStore()
    with app.test_request_context("/"):
        yield app


def consume(
    session: Any, value: str, purpose: str, user: str | None, max_age: int
) -> state.VerifiedState:
    """``state.consume`` with this test app's store and no subject."""
    return state.consume(
        session, value, purpose, user, max_age, None, current_app.extensions["test store"]
    )


def test_a_state_is_spent_once(ctx: Flask) -> None:
    session: dict[str, Any] = {}
    value = state.issue(session, state.LINK, "user:1", "/account")
    found = consume(session, value, state.LINK, "user:1", 600)
    assert found.next == "/account"
    with pytest.raises(state.InvalidState, match="already used"):
        consume(session, value, state.LINK, "user:1", 600)


@pytest.mark.parametrize(
    ("purpose", "user", "reason"),
    [
        (state.UNLINK, "user:1", "issued for 'link'"),
        (state.LINK, "user:2", "another user"),
        (state.LINK, None, "another user"),
    ],
)
def test_wrong_purpose_or_user(ctx: Flask, purpose: str, user: str | None, reason: str) -> None:
    session: dict[str, Any] = {}
    value = state.issue(session, state.LINK, "user:1", None)
    with pytest.raises(state.InvalidState, match=reason):
        consume(session, value, purpose, user, 600)
    with pytest.raises(state.InvalidState, match="already used"):  # a refused state is spent
        consume(session, value, state.LINK, "user:1", 600)


def test_another_session(ctx: Flask) -> None:
    values = [state.issue({}, state.LINK, "user:1", None) for _ in range(2)]
    other: dict[str, Any] = {}
    state.issue(other, state.LINK, "user:1", None)
    with pytest.raises(state.InvalidState, match="another session"):
        consume(other, values[0], state.LINK, "user:1", 600)
    # A session without the key is not said to be another's: it may be new, or lost.
    with pytest.raises(state.InvalidState, match="holds no state key"):
        consume({}, values[1], state.LINK, "user:1", 600)
    with pytest.raises(state.InvalidState, match="already used"):  # spent all the same
        consume(other, values[0], state.LINK, "user:1", 600)


def test_signed_with_another_key(ctx: Flask) -> None:
    session: dict[str, Any] = {}
    genuine = state.issue(session, state.LINK, "user:1", None)
    payload = URLSafeTimedSerializer(ctx.secret_key, salt="flask-capture-link.state").loads(
        genuine
    )
    forged = URLSafeTimedSerializer("attacker key", salt="flask-capture-link.state").dumps(payload)
    with pytest.raises(state.InvalidState, match="signature"):
        consume(session, forged, state.LINK, "user:1", 600)


def test_a_state_made_during_a_key_rotation_outlives_the_fallback(ctx: Flask) -> None:
    ctx.secret_key = "the new key"
    ctx.config["SECRET_KEY_FALLBACKS"] = ["state test key"]
    session: dict[str, Any] = {}
    value = state.issue(session, state.LINK, "user:1", None)  # signed with the new key only
    ctx.config["SECRET_KEY_FALLBACKS"] = []  # the rotation is over
    assert consume(session, value, state.LINK, "user:1", 600).purpose == state.LINK


def test_rendering_buttons_does_not_grow_the_session(ctx: Flask) -> None:
    session: dict[str, Any] = {}
    state.issue(session, state.LINK, "user:1", None)
    size = len(json.dumps(session))
    for _ in range(500):
        state.issue(session, state.LINK, "user:1", "/page")
    assert len(json.dumps(session)) == size


def test_using_states_does_not_grow_the_session(ctx: Flask) -> None:
    session: dict[str, Any] = {}
    values = [state.issue(session, state.LINK, "user:1", None) for _ in range(50)]
    size = len(json.dumps(session))
    for value in values:
        consume(session, value, state.LINK, "user:1", 600)
    assert len(json.dumps(session)) == size
    for value in values:  # spent in the state store, not in the session: still refused
        with pytest.raises(state.InvalidState, match="already used"):
            consume(session, value, state.LINK, "user:1", 600)


def test_user_id_is_not_readable_in_the_state(ctx: Flask) -> None:
    value = state.issue({}, state.LINK, "user:alice@example.com", None)
    payload = URLSafeTimedSerializer(ctx.secret_key, salt="flask-capture-link.state").loads(value)
    assert "alice" not in json.dumps(payload)


@pytest.mark.parametrize("garbage", ["", "x", "a.b.c", "e30.AAAA.BBBB", "\x00" * 10])
def test_garbage_is_refused(ctx: Flask, garbage: str) -> None:
    session: dict[str, Any] = {}
    state.issue(session, state.LINK, None, None)
    with pytest.raises(state.InvalidState):
        consume(session, garbage, state.LINK, None, 600)


def test_states_survive_a_key_rotation(ctx: Flask) -> None:
    session: dict[str, Any] = {}
    value = state.issue(session, state.LINK, "user:1", None)
    ctx.secret_key = "the new key"
    ctx.config["SECRET_KEY_FALLBACKS"] = ["state test key"]
    assert consume(session, value, state.LINK, "user:1", 600).purpose == state.LINK
    ctx.config["SECRET_KEY_FALLBACKS"] = []
    other = state.issue(session, state.LINK, "user:1", None)
    ctx.secret_key = "yet another key"
    with pytest.raises(state.InvalidState):  # without the fallback: refused
        consume(session, other, state.LINK, "user:1", 600)


def test_a_state_is_checked_once_per_request(ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    # The token URL reads a state's purpose to choose its flow, and the flow spends it: the
    # signature is checked once. Another value, or the same one under other keys, anew.
    checked: list[str] = []
    loads = URLSafeTimedSerializer.loads

    def counted(self: URLSafeTimedSerializer, value: str, *args: Any, **kwargs: Any) -> Any:
        checked.append(value)
        return loads(self, value, *args, **kwargs)

    monkeypatch.setattr(URLSafeTimedSerializer, "loads", counted)
    session: dict[str, Any] = {}
    value = state.issue(session, state.SIGN_IN, None, "/page")
    assert state.peek_purpose(value, 600) == state.SIGN_IN
    assert state.peek_next(value, 600) == "/page"
    assert consume(session, value, state.SIGN_IN, None, 600).next == "/page"
    assert checked == [value]
    other = state.issue(session, state.SIGN_IN, None, None)
    assert consume(session, other, state.SIGN_IN, None, 600).next is None
    ctx.secret_key = "the new key"
    ctx.config["SECRET_KEY_FALLBACKS"] = ["state test key"]
    assert state.peek_purpose(value, 600) == state.SIGN_IN
    assert checked == [value, other, value]
    with pytest.raises(state.InvalidState, match="already used"):
        consume(session, value, state.SIGN_IN, None, 600)


def test_a_bad_state_stays_refused_when_read_again(ctx: Flask) -> None:
    session: dict[str, Any] = {}
    state.issue(session, state.LINK, None, None)
    forged = URLSafeTimedSerializer("attacker key", salt="flask-capture-link.state").dumps(
        {"p": state.SIGN_IN}
    )
    assert state.peek_purpose(forged, 600) is None
    for _ in range(2):
        with pytest.raises(state.InvalidState, match="signature"):
            consume(session, forged, state.LINK, None, 600)


class _DownStore(MemoryStateStore):
    """A store that cannot be asked (Redis down)."""

    def spend(self, nonce: str, ttl: float) -> bool:
        raise StateStoreUnavailable("down")


def test_a_carried_outcome_is_shown_once_to_its_own_user_only(ctx: Flask) -> None:
    store = MemoryStateStore()
    value = state.carry_outcome({"k": "success", "c": "success", "p": None}, "user:1")
    assert state.open_outcome(value, "user:2", store) is None  # another user's
    opened = state.open_outcome(value, "user:1", store)
    assert opened is not None and opened["k"] == "success"
    assert state.open_outcome(value, "user:1", store) is None  # shown once
    assert state.open_outcome("x" * (state.MAX_STATE_LENGTH + 1), "user:1", store) is None
    assert state.open_outcome("forged.value.sig", "user:1", store) is None
    fresh = state.carry_outcome({"k": "unlinked", "c": "success", "p": None}, "user:1")
    assert state.open_outcome(fresh, "user:1", _DownStore()) is None  # cannot be spent now
    assert state.open_outcome(fresh, "user:1", store) is not None  # so still shown later
