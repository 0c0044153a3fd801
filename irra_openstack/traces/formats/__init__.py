"""The trace format plugins (namespace ``irra.trace_formats``)."""
