#!/bin/sh
# One Sentinel of the StatefulSet. Its config is written once per pod (Sentinel
# rewrites it as it learns the replicas, its peers and failovers); a new pod monitors
# the master its peers name, or redis-0 on the set's first start.
set -eu
conf=/sentinel/sentinel.conf
if [ ! -s "$conf" ]; then
  master=$(sh /scripts/find-master.sh) || master=redis-0.redis
  cat > "$conf" <<CONF
port 26379
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $(hostname).redis
sentinel monitor shop $master 6379 2
sentinel down-after-milliseconds shop 5000
sentinel failover-timeout shop 30000
sentinel parallel-syncs shop 1
CONF
fi
exec redis-sentinel "$conf"
