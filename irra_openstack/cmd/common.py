"""Pieces shared by irra's command line tools."""

import sys


def args(*args, **kwargs):
    """Declare a command line argument of a command method.

    Used as a decorator, like nova-manage's; the arguments go to argparse's
    ``add_argument``.
    """
    def _decorator(func):
        func.__dict__.setdefault('args', []).insert(0, (args, kwargs))
        return func
    return _decorator


class Progress:
    """A progress bar on standard error for long work.

    Library code reports progress through a plain callable
    ``progress(done, total)``; an instance of this class is such a callable.
    The bar is drawn only on a terminal, so logs and CI output stay clean.
    """

    def __init__(self, desc, unit='it', stream=None):
        self._desc = desc
        self._unit = unit
        self._stream = stream or sys.stderr
        self._bar = None

    def __call__(self, done, total=None):
        if self._bar is None:
            import tqdm  # imported late: --help stays fast

            self._bar = tqdm.tqdm(
                total=total, desc=self._desc, unit=self._unit,
                file=self._stream, leave=False, dynamic_ncols=True,
                disable=not self._stream.isatty())
        if total is not None and self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
