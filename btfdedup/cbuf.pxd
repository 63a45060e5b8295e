# cython: language_level=3
"""Growing C buffers for compiled code: the one realloc step every column-of-rows and
explicit stack uses, so a failed allocation is handled the same way everywhere."""

from libc.stdlib cimport realloc


cdef inline int regrow(void **buf, size_t nbytes) noexcept nogil:
    """Resize ``*buf`` to ``nbytes``; 0, or -1 with ``*buf`` untouched (still owned by the
    caller, who frees it as usual) when memory runs out."""
    cdef void *p = realloc(buf[0], nbytes)
    if p == NULL:
        return -1
    buf[0] = p
    return 0
