#!/bin/sh
# Rebuild the BPF object fixtures from their C sources (clang 14 was used for
# the committed objects; other clang versions give different, equally valid BTF,
# so tests compare against the committed objects, not against a fresh build).
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang}
for src in types maps tags fwd_user fwd_owner open_rules open_edges; do
	"$CLANG" -target bpfel -g -O2 -c "$src.bpf.c" -o "$src.bpf.o"
done
# libbpf's object open refuses a DATASEC whose ELF section is missing: the same
# object with .bss renamed.
${OBJCOPY:-llvm-objcopy} --rename-section .bss=.bss.renamed open_rules.bpf.o open_nosec.bpf.o
# A static linker output (DATASECs already sized, extern DATASECs left at size 0):
# bpftool 7.1.0's `gen object` (the libbpf 1.1 linker).
${BPFTOOL:-bpftool} gen object open_linked.bpf.o open_rules.bpf.o fwd_owner.bpf.o
# Big-endian twins.
for src in types maps tags; do
	"$CLANG" -target bpfeb -g -O2 -c "$src.bpf.c" -o "$src.bpfeb.o"
done
