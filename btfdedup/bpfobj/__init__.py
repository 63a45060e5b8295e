"""What libbpf does to a BPF object's BTF before anyone dedups it.

:mod:`.elf_object` reads an object's sections and symbols once; the object open
(DATASEC sizes and VAR offsets, ``bpf_object__open``) and the static linker
(``bpf_linker``, ``bpftool gen object``) build on it.
"""
