"""``Problem``: one rule the kernel's BTF verifier would reject, located and worded as the kernel logs it."""

from __future__ import annotations

import errno as errno_mod
from dataclasses import dataclass, field
from typing import Any

#: The kernel's internal ``ENOTSUPP`` (not in userspace errno.h), returned for unsupported encodings/versions.
ENOTSUPP = 524


@dataclass(frozen=True)
class Problem:
    """A verifier rejection.

    ``reason`` is the kernel's own log text for the rule (``"Invalid name"``,
    ``"Member exceeds struct_size"``, ``"Invalid btf_info:ff000000"``...);
    ``context`` names the member/parameter/entry involved, when there is one.
    ``type_id``/``kind``/``name`` are None for header and section problems.
    """

    reason: str
    type_id: int | None = None
    kind: str | None = None
    name: str | None = None
    errno: int = errno_mod.EINVAL
    phase: str = "meta"
    context: str | None = field(default=None, compare=False)
    #: False where the kernel rejects without a log line (size limit, internal WARN paths).
    logged: bool = field(default=True, compare=False)

    def __str__(self) -> str:
        tail = f" ({self.context})" if self.context else ""
        if self.type_id is None:
            return f"{self.reason}{tail}"
        name = f"'{self.name}'" if self.name else "(anon)"
        return f"[{self.type_id}] {self.kind or 'UNKNOWN'} {name}: {self.reason}{tail}"

    def to_json(self) -> dict[str, Any]:
        """Plain dict for ``--json`` output."""
        return {
            "type_id": self.type_id,
            "kind": self.kind,
            "name": self.name,
            "reason": self.reason,
            "context": self.context,
            "errno": self.errno,
            "phase": self.phase,
        }
