"""The state store's own ``SET key 1 NX PX ttl`` against a real redis-server: on RESP2 and
RESP3, keys as the client encodes them, errors, and connections of its own that never use up
the client's pool."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from flask_capture_link import state_store
from flask_capture_link.redis_set_nx import MAX_IDLE, SetNX, fast_set_nx

from .helpers import race
from .processes import free_port, redis_sentinel, redis_server


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


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_keys_are_the_ones_the_client_itself_would_write(redis_url: str, encoding: str) -> None:
    client = redis.Redis.from_url(redis_url, encoding=encoding)
    try:
        store = state_store.RedisStateStore(client, "étiquette:")
        assert store.spend("café", 600) is True
        assert store.spend("café", 600) is False
        assert client.exists("étiquette:state:café") == 1  # as client.set would have named it
        client.delete("étiquette:state:café")
    finally:
        client.close()


def test_a_sentinel_managed_client_spends_on_the_master(
    redis_url: str, prefix: str, tmp_path: Path, client_of: Callable[[], redis.Redis]
) -> None:
    from redis.sentinel import Sentinel

    with redis_sentinel(tmp_path, redis_url) as address:
        client = Sentinel([address], socket_timeout=5).master_for("mymaster")
        try:
            store = state_store.RedisStateStore(client, prefix)
            assert store.spend("nonce", 600) is True
            assert store.spend("nonce", 600) is False
            assert client_of().exists(f"{prefix}state:nonce") == 1
        finally:
            client.close()


def test_a_cluster_client_that_loses_its_cluster_is_unavailable(tmp_path: Path) -> None:
    from redis.cluster import RedisCluster

    options = (
        "--cluster-enabled", "yes", "--cluster-config-file", str(tmp_path / "nodes.conf"),
        "--cluster-port", str(free_port()),  # else port + 10000, which may be past 65535
    )  # fmt: skip
    with redis_server(tmp_path, *options) as url:
        node = redis.Redis.from_url(url)
        node.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)  # one node holds it all
        while node.cluster("INFO")["cluster_state"] != "ok":
            time.sleep(0.05)
        node.close()
        client = RedisCluster.from_url(url)
        store = state_store.RedisStateStore(client, "{capture}:")  # through its own set
        assert store.spend("nonce", 600) is True
        assert store.spend("nonce", 600) is False
    # The cluster is gone: a RedisClusterException, which is not a RedisError.
    with pytest.raises(state_store.StateStoreUnavailable, match="Redis"):
        store.spend("another", 600)
    client.close()


def test_the_store_s_connections_never_use_up_the_client_s_pool(
    redis_url: str, prefix: str, client_of: Callable[[], redis.Redis]
) -> None:
    # A site that limits its pool (and shares the client with Flask-Session, say) keeps its
    # connections however many the store makes, drops and makes again.
    client = redis.Redis.from_url(redis_url, max_connections=2)
    try:
        store = state_store.RedisStateStore(client, prefix)
        many = MAX_IDLE + 4  # more at once than the store keeps idle: some are closed
        for restart in range(4):
            spent = race(many, lambda i, restart=restart: store.spend(f"{restart}-{i}", 600))
            assert spent == [True] * many
            client_of().client_kill_filter(_type="normal", skipme=True)  # Redis restarted
        assert client.set(f"{prefix}the site's own", 1) is True
        assert client.get(f"{prefix}the site's own") == b"1"
    finally:
        client.close()


def test_an_error_answer_is_unavailable_and_the_next_spend_works(
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
