"""Infrastructure every feature uses, and which knows none of them.

    config          settings from the environment (every default works unconfigured)
    db              the async engine and sessions, shared column types, migrations at start
    queue           Redis with arq: JSON jobs, deterministic job ids, wake-ups
    events          live step events over Redis pub/sub
    metrics         the Prometheus metrics
    errors          the errors the API answers with, and their JSON handlers
    meta            a key-value table of facts about the installation itself
    embedded_redis  the redis-server that `waybill dev` starts when REDIS_URL is unset

Modules here import only each other (and libraries); the features, `backend.security` and
`backend.app` build on them.
"""
