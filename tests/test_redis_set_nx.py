"""The state store's own ``SET key 1 NX PX ttl``: the bytes it writes are redis-py's, and it
answers alike on RESP2 and RESP3 connections, for any key, against a real redis-server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from redis.connection import Connection

from flask_capture_link import state_store
from flask_capture_link.redis_set_nx import SetNX, fast_set_nx, packed_set_nx


@pytest.mark.parametrize("key", ["capture_link:state:AbC-_09", "préfixe:state:ñ", ""])
@pytest.mark.parametrize("milliseconds", [1000, 660_000])
def test_the_command_is_written_as_redis_py_writes_it(key: str, milliseconds: int) -> None:
    expected = b"".join(Connection().pack_command("SET", key, b"1", "NX", "PX", milliseconds))
    assert packed_set_nx(key.encode(), milliseconds) == expected


@pytest.mark.parametrize("protocol", [2, 3])
def test_spends_once_on_either_protocol(redis_url: str, prefix: str, protocol: int) -> None:
    client = redis.Redis.from_url(redis_url, protocol=protocol)
    try:
        set_nx = fast_set_nx(client)
        assert isinstance(set_nx, SetNX)
        assert set_nx(f"{prefix}nonce", 5000) is True
        assert set_nx(f"{prefix}nonce", 5000) is False
        assert 0 < client.pttl(f"{prefix}nonce") <= 5000
    finally:
        client.close()


def test_a_key_beyond_ascii_is_kept_as_redis_py_would_keep_it(
    client_of: Callable[[], redis.Redis],
) -> None:
    client = client_of()
    store = state_store.RedisStateStore(client, "étiquette:")
    assert store.spend("ñandú", 600) is True
    assert store.spend("ñandú", 600) is False
    assert client.exists("étiquette:state:ñandú") == 1
    client.delete("étiquette:state:ñandú")


def test_keys_are_encoded_as_the_client_encodes_them(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url, encoding="latin-1")
    try:
        store = state_store.RedisStateStore(client, prefix)
        assert store.spend("café", 600) is True
        assert client.exists(f"{prefix}state:café") == 1  # redis-py's own encoding finds it
        assert client.exists(f"{prefix}state:café".encode()) == 0  # not UTF-8
    finally:
        client.close()


def test_an_error_answer_is_unavailable_and_the_next_spend_starts_afresh(
    client_of: Callable[[], redis.Redis], prefix: str
) -> None:
    admin = client_of()
    admin.acl_setuser(
        "no-set", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-set"]
    )
    settings = admin.connection_pool.connection_kwargs
    limited = redis.Redis(
        host=settings["host"], port=settings["port"], username="no-set", password="pw"
    )
    try:
        store = state_store.RedisStateStore(limited, prefix)
        with pytest.raises(state_store.StateStoreUnavailable, match="no permissions"):
            store.spend("nonce", 600)
        assert admin.exists(f"{prefix}state:nonce") == 0
        admin.acl_setuser("no-set", enabled=True, commands=["+set"])  # allowed again
        assert store.spend("nonce", 600) is True
        assert store.spend("nonce", 600) is False
    finally:
        limited.close()
        admin.acl_deluser("no-set")
