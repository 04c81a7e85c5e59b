#!/bin/sh
# One Redis of the StatefulSet. It is the master when the Sentinels say so, or when
# none answers and it is redis-0 (the set's first start); otherwise it replicates the
# master the Sentinels name (after a failover that is not redis-0), or redis-0.
set -eu
self="$(hostname).redis"
master=$(sh /scripts/find-master.sh) || master=redis-0.redis
# noeviction: at its memory limit Redis refuses new holds instead of evicting others.
set -- --dir /data --appendonly yes --maxmemory-policy noeviction --replica-announce-ip "$self"
if [ "$master" != "$self" ]; then
  set -- "$@" --replicaof "$master" 6379
fi
exec redis-server "$@"
