"""End-to-end workflows behind the ``dedup`` and ``split`` commands.

Each workflow strings the library's steps together (find inputs, load, merge,
dedup, write) and returns a plain result record the CLI prints; the CLI itself
only parses arguments and formats output.
"""
