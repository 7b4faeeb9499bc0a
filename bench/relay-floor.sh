#!/bin/sh
# Floor for any supervisor that relays worker output through another process:
# 2 flood workers, each piped through its own `cat` into its own file.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d); cd $D
for mode in redirect cat; do
  for run in 1 2 3; do
    rm -f *.log *.written
    S=$(date +%s%N)
    for n in 0 1; do
      if [ $mode = redirect ]; then
        MEGABYTES=100 NAUGHT_WORKER=$n EXIT_WHEN_DONE=1 node "$ROOT/bench/flood-worker.cjs" >> out-$n.log &
      else
        ( MEGABYTES=100 NAUGHT_WORKER=$n EXIT_WHEN_DONE=1 node "$ROOT/bench/flood-worker.cjs" | cat >> out-$n.log ) &
      fi
    done
    wait
    echo "$mode run $run: $(( ($(date +%s%N)-S)/1000000 )) ms"
  done
done
cd /; rm -rf $D
