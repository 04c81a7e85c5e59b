#!/bin/sh
# One Sentinel of deploy/compose.yaml. Sentinel rewrites its own config file (what it
# learns: the current master after a failover, the other Sentinels, the replicas), so
# the file lives on the container's volume and is written only the first time; a
# restarted Sentinel keeps following the master it knew instead of the first one.
set -eu
conf=/data/sentinel.conf
if [ ! -s "$conf" ]; then
  cat > "$conf" <<CONF
port 26379
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip ${SENTINEL_NAME:?}
sentinel monitor shop redis 6379 2
sentinel down-after-milliseconds shop 5000
sentinel failover-timeout shop 30000
sentinel parallel-syncs shop 1
CONF
fi
exec redis-sentinel "$conf"
