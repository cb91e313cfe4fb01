"""Extraction adapters: bytes of a file in, a `Document` of cleaned pages out."""
