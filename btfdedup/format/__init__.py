"""The BTF wire format: constants, header layout. Knows nothing of dedup or ELF."""
