#!/bin/sh
# Wrap a module's split BTF (copied from a real Debian 6.1 .ko) into a small
# x86-64 ELF relocatable object, the way kbuild attaches .BTF to a module:
# section .BTF, SHT_PROGBITS, flags alloc+readonly; plus a .modinfo naming it.
# Then the whole-file compressed variants distributions ship (.ko.xz/.zst/.gz).
# Usage: make_ko.sh [module]   (default 8021q; reads <module>.btf here)
set -eu
cd "$(dirname "$0")"
MOD=${1:-8021q}
CLANG=${CLANG:-clang}
OBJCOPY=${OBJCOPY:-llvm-objcopy}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'int fixture_init(void) { return 0; }\n' > "$tmp/stub.c"
"$CLANG" -target x86_64-linux-gnu -O2 -c "$tmp/stub.c" -o "$tmp/stub.o"
printf 'license=GPL\0name=%s\0' "$MOD" > "$tmp/modinfo"
"$OBJCOPY" --add-section .modinfo="$tmp/modinfo" --set-section-flags .modinfo=alloc,readonly \
	--add-section .BTF="$MOD.btf" --set-section-flags .BTF=alloc,readonly \
	"$tmp/stub.o" "$MOD.ko"
xz -9 -c "$MOD.ko" > "$MOD.ko.xz"
zstd -19 -q -f -c "$MOD.ko" > "$MOD.ko.zst"
gzip -9 -n -c "$MOD.ko" > "$MOD.ko.gz"
