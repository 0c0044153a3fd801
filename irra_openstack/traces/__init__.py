"""Trace import: native trace formats into irra's canonical file."""
