#!/usr/bin/env bash
# Binary size: podinit (`make static`) against tini (tini-static when
# installed), catatonit and dumb-init, and whether each is static.
#
# Rows: size.NAME.bytes (bytes), size.NAME.static (yes | no (dynamic)),
# size.NAME.file (the file measured); NAME: podinit tini catatonit dumb-init.
# shellcheck source=scripts/bench/lib.sh
source "$(dirname "$0")/lib.sh"
podinit_bin
peers
size() { stat -L -c %s "$1"; }
for k in podinit tini catatonit dumb-init; do
    case $k in
        podinit) b=$PODINIT ;;
        tini) b=${TINI_STATIC:-$TINI} ;;
        catatonit) b=$CATATONIT ;;
        dumb-init) b=$DUMB_INIT ;;
    esac
    st=yes
    readelf -l "$b" 2>/dev/null | grep -q 'program interpreter' && st="no (dynamic)"
    row "$k.file" "$(basename "$b")"
    row "$k.bytes" "$(size "$b")" bytes
    row "$k.static" "$st"
done
