"""Typed errors raised by btfdedup.

Every failure a user can provoke with bad input surfaces as a :class:`BtfError`
subclass whose message names *where* (file, byte offset or type ID) and *which
rule* was broken.  The CLI turns any ``BtfError`` into one ``btfdedup: error:``
line; anything else escaping is a bug.
"""

from __future__ import annotations


class BtfError(Exception):
    """Base class of every error btfdedup raises on purpose."""


class BtfFormatError(BtfError):
    """The bytes are not well-formed BTF (header, sections, records, strings)."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        offset: int | None = None,
        type_id: int | None = None,
    ) -> None:
        self.source = source
        self.offset = offset
        self.type_id = type_id
        self.rule = message
        where = []
        if source:
            where.append(source)
        if type_id is not None:
            where.append(f"type [{type_id}]")
        if offset is not None:
            where.append(f"offset {offset:#x}")
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        super().__init__(prefix + message)

    def with_source(self, source: str) -> BtfFormatError:
        """Return a copy of this error that also names the file it came from."""
        if self.source:
            return self
        err = type(self)(self.rule, source=source, offset=self.offset, type_id=self.type_id)
        return err


class BtfExtFormatError(BtfFormatError):
    """The ``.BTF.ext`` section is malformed."""


class ElfError(BtfFormatError):
    """The ELF container is unusable (not ELF, no ``.BTF``, NOBITS section, ...)."""


class BtfUsageError(BtfError):
    """The caller asked for something the inputs or the file system cannot give
    (wrong base, a missing file, an output that would replace an input).

    On the command line this is exit status 1: the command was well formed.  A
    command line that is wrong in itself raises :class:`CommandLineError`
    instead (``usage`` is True), which exits 2 like argparse's own errors.
    """

    #: True when the command line itself is wrong (the CLI exits 2).
    usage: bool = False


class CommandLineError(BtfUsageError):
    """The command line is wrong in itself, before any file is looked at:
    conflicting options, an option value out of range, an option that needs
    another.  The CLI prints one ``btfdedup: error:`` line and exits 2."""

    usage = True


class MissingBaseError(BtfFormatError, BtfUsageError):
    """Split BTF was given without the base BTF its IDs and strings continue.

    Both a format problem (as base BTF the bytes are invalid) and a usage one
    (the fix is to pass ``--base``), so it is catchable as either.
    """


class DedupError(BtfError):
    """Deduplication cannot proceed on this input (libbpf would fail too)."""


class ValidationError(BtfError):
    """Raised by helpers that want a single exception for a list of problems."""


class KernelError(BtfError):
    """A ``bpf(2)`` call failed; carries ``errno`` and, for loads, the verifier log."""

    def __init__(self, message: str, *, errno: int = 0, log: str = "") -> None:
        self.errno = errno
        self.log = log
        super().__init__(message)


class DistillError(BtfError):
    """A module's base cannot be distilled (libbpf ``btf__distill_base`` refuses it too):
    the module refers to a base type a distilled base cannot stand for."""


class RelocationError(BtfError):
    """Split BTF on a distilled base cannot be relocated onto the given base (libbpf
    ``btf__relocate`` fails too): a distilled type has no match, or more than one."""
