#!/bin/sh
# Rebuild the BPF object fixtures from their C sources (clang 14 was used for
# the committed objects; other clang versions give different, equally valid BTF,
# so tests compare against the committed objects, not against a fresh build).
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
for src in types maps tags fwd_user fwd_owner; do
	"$CLANG" -target bpfel -g -O2 -c "$src.bpf.c" -o "$src.bpf.o"
done
# Big-endian twins.
for src in types maps tags; do
	"$CLANG" -target bpfeb -g -O2 -c "$src.bpf.c" -o "$src.bpfeb.o"
done
