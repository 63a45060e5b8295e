"""Readers and writers: bytes, files, ELF objects, modules and sysfs <-> :class:`Btf`."""
