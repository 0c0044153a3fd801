"""Executors (``irra.executors`` plugins): they turn actions into changes."""
