"""`services:` — start named services inside the job environment (fold `services`).

Names map to Travis's units; a service the machine lacks is reported, and the job goes on.
"""

from __future__ import annotations

from typing import Any

from roundhouse.script.shell import fold, quote

# Daemons started directly listen on localhost only: a job that shares the host's network
# (bwrap with the network on) must not offer them to the LAN. The job's user owns /tmp.
REDIS = "redis-server --daemonize yes --bind 127.0.0.1 --dir /tmp"
MEMCACHED = "memcached -d -u nobody -l 127.0.0.1"
# Travis's service name → (unit name, daemon command where no service manager can be used).
UNITS: dict[str, tuple[str, str]] = {
    "redis": ("redis-server", REDIS),
    "redis-server": ("redis-server", REDIS),
    "memcache": ("memcached", MEMCACHED),
    "memcached": ("memcached", MEMCACHED),
    "rabbitmq": ("rabbitmq-server", "rabbitmq-server -detached"),
    "rabbitmq-server": ("rabbitmq-server", "rabbitmq-server -detached"),
    "mongodb": ("mongod", ""),
    "mongod": ("mongod", ""),
    "postgresql": ("postgresql", "_rh_postgresql"),
    "mysql": ("mysql", ""),
    "mariadb": ("mariadb", ""),
    "docker": ("docker", ""),
    "hbase": ("hbase-master", ""),
    "neo4j-server": ("neo4j", ""),
}


def names(config: dict[str, Any]) -> list[str]:
    """The services the job asks for, in order, without repeats."""
    value = config.get("services") or []
    items = value if isinstance(value, list) else [value]
    return list(dict.fromkeys(str(v) for v in items if v))


def render_services(config: dict[str, Any]) -> list[str]:
    """The `services` fold; empty when the job asks for none."""
    wanted = names(config)
    if not wanted:
        return []
    lines = [fold("start", "services")]
    for name in wanted:
        unit, direct = UNITS.get(name, (name, ""))
        lines.append(f"_rh_service {quote(name)} {quote(unit)} {quote(direct)}")
    return [*lines, "_rh_services_settle", fold("end", "services")]
