#!/bin/sh
# The layering check (make check): daemon/<layer>/ may include headers of its
# own layer and of the layers listed before it, never of a layer after it.
# Reading order, bottom up:
#   base    util, arena, log, ydoc, pbguard, metrics, notify — no domain knowledge
#   report  the national layouts, the report model, regions, the findings catalogue
#   read    form detection and every reader, rawdoc, fit, the YAML and protobuf forms
#   check   sums, rules, enrichment, the pipeline, the JSON encoder
#   wire    ZeroMQ peers' common ground: MDP frames, CURVE keys, the MDP client
#   conf    the daemon's configuration (one key table)
#   broker  the broker, its services, spool, publisher, ZAP, telemetry
#   worker  MDP workers around the pipeline
#   service reportd's process: lifecycle, main
#   ctl     reportctl
# Exit 0 when every include points down or sideways; else 1, one line each.
set -eu
cd "$(dirname "$0")/.."
LAYERS="base report read check wire conf broker worker service ctl"
rank() { i=0; for l in $LAYERS; do [ "$l" = "$1" ] && { echo $i; return; }; i=$((i + 1)); done; echo -1; }
bad=0
for f in daemon/*/*.c daemon/*/*.h; do
    own=$(basename "$(dirname "$f")")
    r=$(rank "$own")
    if [ "$r" -lt 0 ]; then echo "$f: folder $own is not a layer in $0"; bad=1; continue; fi
    grep -n '^#include "' "$f" | while IFS= read -r line; do
        n=${line%%:*}
        inc=$(echo "$line" | sed 's/^[0-9]*:#include "\([^"]*\)".*/\1/')
        case $inc in
        */*) layer=${inc%%/*} ;;
        report.pb-c.h) continue ;;    # generated from proto/, below every layer
        *) echo "$f:$n: include \"$inc\" without its layer folder"; exit 1 ;;
        esac
        lr=$(rank "$layer")
        if [ "$lr" -lt 0 ] || [ "$lr" -gt "$r" ]; then
            echo "$f:$n: $own (layer $r) includes $inc from ${layer} (layer $lr), a layer above it"
            exit 1
        fi
    done || bad=1
done
[ $bad = 0 ] && echo "layers: every include points down" || exit 1
