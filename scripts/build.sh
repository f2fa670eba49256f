#!/bin/bash
# Configures and builds p11mux out of tree in BUILDDIR with the given
# configure flags.  Usage: scripts/build.sh BUILDDIR [CONFIGURE-FLAGS...]
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=$1
shift
cd "$srcdir"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
    autoreconf -fi >/dev/null
fi
mkdir -p "$builddir"
cd "$builddir"
if [ ! -f Makefile ] || [ "$srcdir/configure" -nt Makefile ]; then
    "$srcdir/configure" --enable-werror "$@" >configure.out || { cat configure.out; exit 1; }
fi
make -j"$(nproc)" >make.out 2>&1 || { tail -50 make.out; exit 1; }
