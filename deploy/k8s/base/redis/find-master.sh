#!/bin/sh
# Prints the address of the master that a Sentinel of this StatefulSet (redis-0..2)
# names now, and fails when none answers (the first start of the set).
for i in 0 1 2; do
  answer=$(timeout 2 redis-cli -h "redis-$i.redis" -p 26379 --raw \
    sentinel get-master-addr-by-name shop 2>/dev/null | head -n 1) || true
  if [ -n "$answer" ]; then
    echo "$answer"
    exit 0
  fi
done
exit 1
