#!/bin/sh
# The README's architecture tour stays true (make check): every source file of
# daemon/ is named there by its path, and every daemon/ path the README names
# anywhere exists.
set -eu
cd "$(dirname "$0")/.."
tour=$(awk '/^## Architecture, file by file/{on=1} /^## Libraries/{on=0} on' README.md)
bad=0
for f in daemon/*/*.c daemon/*/*_private.h; do
    case $tour in
    *"\`$f\`"*) ;;
    *) echo "README.md: the architecture tour has no line for $f"; bad=1 ;;
    esac
done
for f in $(grep -o '`daemon/[a-z_/]*\.[ch]`' README.md | tr -d '`' | sort -u); do
    [ -f "$f" ] || { echo "README.md names $f, which does not exist"; bad=1; }
done
[ $bad = 0 ] && echo "tour: every daemon/ source file has its line in the README" || exit 1
