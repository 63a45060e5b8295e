"""The dedup phases, one module per phase, in libbpf's order:
prep, strings, primitives, composites (struct/union), fwds, references, compact, remap."""
