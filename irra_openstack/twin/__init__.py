"""The application digital twin: an application's SLA metric as a function
of its load and its capacity, for the optimiser's what-if questions.

:mod:`.queueing` has the M/M/c formulas, :mod:`.model` the fitted twin, and
:mod:`.simulation` a discrete-event M/M/c simulator used to validate it.
"""
