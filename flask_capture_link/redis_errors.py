"""What a Redis client raises when Redis cannot be asked or refuses: redis-py's
``RedisError``, and, from a cluster client, ``RedisClusterException``, which is not one."""

from __future__ import annotations


def redis_failures() -> tuple[type[Exception], ...]:
    """The exception classes to catch around a Redis command (``redis`` must be installed:
    there is a client)."""
    from redis.exceptions import RedisClusterException, RedisError

    return (RedisError, RedisClusterException)
