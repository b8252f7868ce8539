"""How this process reaches Redis: URL or Sentinel, ACL user, TLS, from the settings.

Every Redis client of a service is made here, so the gather store, the
stored replies and the health probes can never disagree on where Redis is
or how to log in.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import BlockingConnectionPool, SSLConnection, parse_url
from redis.asyncio.sentinel import Sentinel

from slmesh.runtime.settings import MeshSettings


def redis_login(settings: MeshSettings) -> dict[str, Any]:
    """Connection options beside the URL: the ACL user and password, and TLS material.

    A user or password set apart from the URL wins over the URL's: secrets
    come from a secret store, the URL from plain configuration.
    """
    options: dict[str, Any] = {}
    if settings.redis_username is not None:
        options["username"] = settings.redis_username
    if settings.redis_password is not None:
        options["password"] = settings.redis_password.get_secret_value()
    if settings.redis_ssl_ca_file is not None:
        options["ssl_ca_certs"] = str(settings.redis_ssl_ca_file)
    if settings.redis_ssl_cert_file is not None and settings.redis_ssl_key_file is not None:
        options["ssl_certfile"] = str(settings.redis_ssl_cert_file)
        options["ssl_keyfile"] = str(settings.redis_ssl_key_file)
    return options


def sentinel_addresses(spec: str) -> list[tuple[str, int]]:
    """`host:port,host:port` as addresses; a clear error for a malformed one."""
    addresses = []
    for item in (part.strip() for part in spec.split(",")):
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"SLMESH_REDIS_SENTINELS: {item!r} is not host:port")
        addresses.append((host.strip("[]"), int(port)))
    return addresses


def connect_redis(
    settings: MeshSettings, *, blocking_pool: bool = False, **options: Any
) -> aioredis.Redis:
    """A client of this mesh's Redis. `options` are redis-py's (timeouts, retries, pool size).

    `blocking_pool`: a command waits for a free connection instead of failing
    with "Too many connections" (with Sentinel the pool is Sentinel's own,
    which does not wait: its size is the limit).
    """
    url = settings.redis_url.get_secret_value()
    login = redis_login(settings)
    if settings.redis_sentinels:
        return _from_sentinels(settings, url, {**login, **options})
    if blocking_pool:
        pool = BlockingConnectionPool.from_url(url, **login, **options)
        return aioredis.Redis.from_pool(pool)
    return aioredis.Redis.from_url(url, **login, **options)


def _from_sentinels(settings: MeshSettings, url: str, options: dict[str, Any]) -> aioredis.Redis:
    options.pop("timeout", None)  # BlockingConnectionPool's wait; no such option here
    # The URL still says which database, over TLS or not, and (unless set apart,
    # which `options` carry and which win) who logs in: only its host is the sentinels'.
    parsed = parse_url(url)
    from_url: dict[str, Any] = {k: parsed[k] for k in ("db", "username", "password") if k in parsed}
    if parsed.get("connection_class") is SSLConnection:
        options["ssl"] = True
    sentinel_options: dict[str, Any] = {
        "socket_timeout": options.get("socket_timeout", 1.0),
        "socket_connect_timeout": options.get("socket_connect_timeout", 1.0),
    }
    if settings.redis_sentinel_password is not None:
        sentinel_options["password"] = settings.redis_sentinel_password.get_secret_value()
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        sentinel_addresses(settings.redis_sentinels or ""),
        sentinel_kwargs=sentinel_options,
        **{**from_url, **options},
    )
    # The master is asked of the sentinels on each new connection: after a
    # failover the next connection goes to the new master.
    master: aioredis.Redis = sentinel.master_for(settings.redis_sentinel_master)
    return master
