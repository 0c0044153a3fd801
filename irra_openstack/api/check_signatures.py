"""oslo.policy without an ``inspect.getfullargspec`` on every check.

oslo.policy's ``_checks._check`` asks ``inspect.getfullargspec`` for the
signature of a check's ``__call__`` each time it evaluates that check (to
know whether the check takes the rule name): six times for each of
irra-api's usual rules, about a tenth of the CPU time of a short request.
A signature belongs to a function, which does not change, so
:func:`install` gives that module an ``inspect`` whose
``getfullargspec`` remembers the answer per function. Every check is still
evaluated on every request, with the same arguments as before; only the
repeated introspection goes.
"""

import inspect
import threading
import types

from oslo_policy import _checks

_lock = threading.Lock()


class _Inspect:
    """The ``inspect`` module, with a memory for ``getfullargspec``."""

    def __init__(self, module=inspect):
        self._module = module
        self._specs = {}

    def getfullargspec(self, func):
        # A bound method is made anew on each attribute access: remember
        # the function under it.
        target = getattr(func, '__func__', func)
        if not isinstance(target, types.FunctionType):
            return self._module.getfullargspec(func)
        spec = self._specs.get(target)
        if spec is None:
            spec = self._module.getfullargspec(func)
            self._specs[target] = spec
        return spec

    def __getattr__(self, name):
        return getattr(self._module, name)


def install():
    """Give oslo.policy's checks the remembering ``inspect``; idempotent.

    Does nothing if oslo.policy no longer calls ``inspect`` there the way
    this module expects.
    """
    with _lock:
        current = getattr(_checks, 'inspect', None)
        if current is inspect:
            _checks.inspect = _Inspect()
        return isinstance(getattr(_checks, 'inspect', None), _Inspect)
