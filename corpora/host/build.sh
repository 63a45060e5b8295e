#!/bin/sh
# Host-side fixtures: x86-64 ELF objects whose .BTF pahole encodes from DWARF.
#   enum64.o   - clang -g object + `pahole -J` (.BTF added in place, no .BTF.ext)
#   enum64.btf - the same BTF as a detached raw blob (`--btf_encode_detached`)
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
PAHOLE=${PAHOLE:-pahole}
"$CLANG" -g -O2 -c enum64.c -o enum64.o
"$PAHOLE" -J enum64.o
"$PAHOLE" --btf_encode_detached=enum64.btf enum64.o
chmod 644 enum64.btf
