"""In-memory BTF: the type table as numpy arrays, the string table, .BTF.ext."""
