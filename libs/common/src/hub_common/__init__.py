"""Integration Hub shared library (a library: it starts no processes of its own)."""

__version__ = "0.1.0"
