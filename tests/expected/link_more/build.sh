#!/bin/sh
# Hand-written inputs of tests/test_bpfobj_link_more.py, built with clang 14.  Each
# object plays one side of a static-linker rule:
#   ext_user / ext_owner   .extern VAR and FUNC resolved by a later strong definition,
#                          unresolved externs, weak overridden by strong, an extern map
#                          (ephemeral .maps upgraded by the definition), kconfig/ksym/kfunc
#   weak2                  weak VAR/FUNC definitions (strong-then-weak and weak-then-strong)
#   kfunc_dup              the same kfunc declared again (size of a FUNC entry: refused)
#   map_mismatch           a map definition with other max_entries (refused)
#   type_mismatch          a global of another size and a FUNC of another arity (refused)
#   lic2                   another license string (refused)
#   mim_def / mim_ext      map-in-map, prog-array and an array of structs, defined / extern
#   mim_bad                an inner map and a struct member that differ (refused)
set -e
cd "$(dirname "$0")"
for src in *.bpf.c; do
	"${CLANG:-clang}" -target bpfel -g -O2 -c "$src" -o "${src%.c}.o"
done
