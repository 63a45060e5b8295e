# cython: language_level=3
"""The Python-visible part of the string index (see ``strindex.pxd``): :class:`StringIndex`,
libbpf ``btf__find_str`` over one string blob.

It indexes every string start of the blob by content, the first occurrence winning,
which is the index libbpf's strset builds over an existing string section: a suffix
of a longer string is not found, and of equal copies the lowest offset is the
answer.  :meth:`btfdedup.model.strings.StringTable.find` asks it, a prepared base keeps
one over its chain's strings for the dedup strings phase of every split on it, and
the merge's destination string set starts as one over the base chain's strings.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t


cdef class StringIndex:
    """Every string start of ``data`` by content, first occurrence winning.

    ``collide=True`` gives every string the same hash (one probe run for all), so tests
    can drive the byte comparison through collisions.
    """

    def __cinit__(self, bytes data not None=b"", *, bint collide=False):
        self.data = data
        cdef const uint8_t *buf = <const uint8_t *>self.data
        cdef int64_t size = len(data)
        cdef StrBlobs b
        cdef int rc
        if size > str_key_max():
            raise ValueError(f"string blob of {size} bytes: an index holds offsets up to {str_key_max():#x}")
        strblobs_one(&b, buf, size)
        with nogil:
            rc = strindex_init(&self.ix, str_count(buf, size))
        if rc < 0:
            raise MemoryError("string index")
        if collide:
            self.ix.hash_mask = 0
        with nogil:
            rc = strindex_add_starts(&self.ix, &b, buf, size, 0)
        if rc < 0:
            raise MemoryError("string index")

    def __dealloc__(self):
        strindex_free(&self.ix)

    def find(self, s: bytes) -> int:
        """Offset of the first string of ``data`` that is exactly ``s``, or -1 (a string
        holding a NUL is never found)."""
        cdef const uint8_t *p = <const uint8_t *>s
        cdef int64_t n = len(s)
        cdef StrBlobs b
        if memchr(p, 0, <size_t>n) != NULL:
            return -1
        strblobs_one(&b, <const uint8_t *>self.data, len(self.data))
        return strindex_find(&self.ix, &b, p, n, str_hash(p, n))

    @property
    def count(self) -> int:
        """How many distinct strings the index holds."""
        return self.ix.used

    @property
    def capacity(self) -> int:
        """Slots of the table (a power of two, at least twice :attr:`count`)."""
        return self.ix.cap
