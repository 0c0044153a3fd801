"""Exceptions that irra shows to its users.

Every error that reaches an operator is an :class:`IrraError`: its message is
one complete sentence that says what is wrong and, where there is one, what to
do about it. Anything else escaping to a command line is a bug.
"""


class IrraError(Exception):
    """Base of every error whose message is meant for an operator."""

    msg_fmt = "An unknown irra error occurred."

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            message = self.msg_fmt % kwargs if kwargs else self.msg_fmt
        self.message = message
        super().__init__(message)

    def __str__(self):
        return self.message


class ConfigError(IrraError):
    msg_fmt = "Invalid configuration: %(reason)s"


class PluginError(IrraError):
    msg_fmt = "Plugin error: %(reason)s"


class InvalidFrame(IrraError):
    msg_fmt = "Invalid metric frame: %(reason)s"


class TraceError(IrraError):
    """A trace file that cannot be read as it claims to be."""

    msg_fmt = "Cannot read trace: %(reason)s"


class TraceFormatError(TraceError):
    """The file does not have the layout of the format asked for.

    ``path`` and ``line`` (1-based, or None) say where the problem is.
    """

    def __init__(self, path, reason, line=None):
        where = str(path) if line is None else "%s:%d" % (path, line)
        super().__init__("%s: %s" % (where, reason))
        self.path = path
        self.line = line
        self.reason = reason


class BadDataError(TraceError):
    """The data is readable but wrong, and the repair policy says fail."""


class UnknownFormat(TraceError):
    msg_fmt = "%(reason)s"


class DBNotConfigured(IrraError):
    msg_fmt = ("No database is configured: set [database] connection in "
               "irra.conf, for example "
               "'sqlite:////var/lib/irra/irra.sqlite' or "
               "'postgresql+psycopg2://irra:PASSWORD@127.0.0.1/irra'.")
