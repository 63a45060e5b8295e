#!/bin/sh
# Hand-written inputs of tests/test_bpfobj_link.py (clang 14): extern FUNC/VAR resolved by a
# later definition, weak/strong globals, a FWD-only pointer, .kconfig/.ksyms externs, static
# and read-only data, a subprogram, and an extern FUNC whose BTF conflicts (link_c_mismatch).
set -e
cd "$(dirname "$0")"
for f in link_a link_b link_c_mismatch link_d; do
    clang -g -O2 -target bpf -c "$f.bpf.c" -o "$f.bpf.o"
done
