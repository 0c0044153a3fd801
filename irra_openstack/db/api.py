"""Access to irra's database: one oslo.db enginefacade transaction context.

A process (service, command, test) calls :func:`configure` with its own
configuration object once it has parsed it; from then on the module-level
:data:`context_manager` reaches the database named by that object's
[database] options, and nothing here reads the global ``cfg.CONF``. Calling
:func:`configure` again points the context at the new database and closes
the connections to the old one.

Database code uses the enginefacade idioms on :data:`context_manager`::

    @api.context_manager.writer
    def plan_create(context, values):
        ...  # context.session is a session in a transaction

or, from code without a request context, :func:`write_session` and
:func:`read_session`.
"""

import re
import sys

from oslo_db import exception as db_exception
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import exc_filters
from oslo_log import log as logging
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from irra_openstack import exception

LOG = logging.getLogger(__name__)

#: The transaction context of irra's database. :func:`configure` gives it
#: its engine; until then, using it raises oslo.db's CantStartEngineError.
context_manager = enginefacade.transaction_context()

#: The [database] options that the transaction context takes from the
#: configuration object given to :func:`configure`.
_FACTORY_OPTIONS = (
    'connection',
    'slave_connection',
    'sqlite_synchronous',
    'mysql_sql_mode',
    'mysql_wsrep_sync_wait',
    'connection_recycle_time',
    'connection_debug',
    'max_pool_size',
    'max_overflow',
    'pool_timeout',
    'connection_trace',
    'max_retries',
    'retry_interval',
    'connection_parameters',
    'synchronous_reader',
)

#: What :func:`configure` last installed: the URL (for messages) and the
#: transaction context whose factory :data:`context_manager` now uses.
_configured = {'connection': None, 'manager': None}


class DBConnectionFailed(exception.IrraError):
    """The database server cannot be reached, or refuses irra."""

    msg_fmt = ("Cannot connect to the %(backend)s database at %(location)s: "
               "%(reason)s Check that the server is running and that "
               "[database] connection is right.")


class DBDriverMissing(exception.IrraError):
    """The Python driver that the connection URL names is not installed."""

    msg_fmt = ("The database driver of %(location)s is not installed "
               "(%(reason)s). Install it, or name an installed driver in "
               "[database] connection, for example 'mysql+pymysql://' or "
               "'postgresql+psycopg2://'.")


class DBInvalidConnection(exception.IrraError):
    """[database] connection is not a database URL."""

    msg_fmt = ("[database] connection is not a valid database URL "
               "(%(reason)s), for example "
               "'postgresql+psycopg2://irra:PASSWORD@HOST/irra'.")


# oslo.db turns a check constraint violation into DBConstraintError on
# PostgreSQL only. These filters do the same on sqlite and MySQL/MariaDB, so
# that code above the database sees one exception whatever the backend.
@exc_filters.filters('sqlite', sa_exc.IntegrityError,
                     r'^.*CHECK constraint failed: (?P<check_name>\w+)')
@exc_filters.filters('mysql', sa_exc.OperationalError,
                     r'^.*\b4025\b.*CONSTRAINT `(?P<check_name>[^`]+)` '
                     r'failed for `[^`]*`\.`(?P<table>[^`]+)`')
@exc_filters.filters('mysql', sa_exc.DatabaseError,
                     r"^.*\b3819\b.*Check constraint '(?P<check_name>[^']+)' "
                     r'is violated')
def _check_constraint_error(error, match, engine_name, is_disconnect):
    """Raise DBConstraintError for a check constraint that refused a row."""
    groups = match.groupdict()
    raise db_exception.DBConstraintError(groups.get('table'),
                                         groups['check_name'], error)


@enginefacade.transaction_context_provider
class DBContext:
    """A context for database work outside an API request.

    Commands and tests that have no request context use one of these with
    ``context_manager.writer.using(DBContext())``, or simply
    :func:`write_session`.
    """


def safe_url(connection):
    """``connection`` as text that is safe to show: no password in it."""
    try:
        url = sa.engine.make_url(connection)
    except (sa_exc.ArgumentError, ValueError):
        return '<invalid URL>'
    return url.render_as_string(hide_password=True)


def _backend(connection):
    try:
        return sa.engine.make_url(connection).get_backend_name()
    except (sa_exc.ArgumentError, ValueError):
        return 'unknown'


def _factory_options(conf):
    group = conf.database
    return {name: group[name] for name in _FACTORY_OPTIONS}


def configure(conf):
    """Point :data:`context_manager` at the database ``conf`` names.

    ``conf`` is an oslo.config object with the [database] options
    registered (see :mod:`irra_openstack.conf.database`). Every option the
    transaction context uses is taken from it explicitly. No connection is
    made here: the first use of the context connects.

    :raises DBNotConfigured: [database] connection is not set.
    :raises DBInvalidConnection: it is not a database URL.
    :returns: :data:`context_manager`.
    """
    options = _factory_options(conf)
    connection = options['connection']
    if not connection:
        raise exception.DBNotConfigured()
    try:
        sa.engine.make_url(connection)
    except (sa_exc.ArgumentError, ValueError) as exc:
        raise DBInvalidConnection(reason=_one_line(exc, connection))
    new = enginefacade.transaction_context()
    new.configure(sqlite_fk=True, thread_checkin=_green_threads(),
                  **options)
    previous = _configured['manager']
    context_manager.patch_factory(new)
    _configured.update(connection=connection, manager=new)
    if previous is not None:
        previous.dispose_pool()
    LOG.debug('Database: %s', safe_url(connection))
    return context_manager


def _green_threads():
    """Whether eventlet has patched the time module of this process.

    oslo.db's ``thread_checkin`` calls ``time.sleep(0)`` whenever a
    connection goes back to the pool, so that other greenthreads get to
    run (C database drivers never yield to eventlet on their own). With
    native threads that call only costs a system call per transaction, so
    it is on only when eventlet's monkey patching is in force when
    :func:`configure` runs (the engine is made after that).
    """
    # eventlet is looked at only if something imported it already.
    patcher = sys.modules.get('eventlet.patcher')
    return bool(patcher is not None and patcher.is_monkey_patched('time'))


def dispose():
    """Close the pooled connections of the configured database, if any."""
    context_manager.dispose_pool()


def _one_line(exc, connection=None):
    """The message of ``exc`` on one line, with no password in it."""
    inner = exc
    if isinstance(inner, db_exception.DBError) and inner.inner_exception:
        inner = inner.inner_exception
    inner = getattr(inner, 'orig', None) or inner
    args = getattr(inner, 'args', ())
    if (len(args) == 2 and isinstance(args[0], int) and
            isinstance(args[1], str)):
        # MySQL drivers: (error code, message).
        text = '%s (error %d)' % (args[1], args[0])
    else:
        text = str(inner)
    text = ' '.join(text.split()) or type(inner).__name__
    if connection:
        try:
            password = sa.engine.make_url(connection).password
        except (sa_exc.ArgumentError, ValueError):
            password = None
        if password:
            text = text.replace(str(password), '***')
    return re.sub(r'(://[^:/@\s]*:)[^@/\s]*@', r'\1***@', text)


def get_engine():
    """The engine of the configured database, checked by connecting to it.

    :raises DBNotConfigured: :func:`configure` was not called.
    :raises DBConnectionFailed: the server cannot be reached or refuses the
        connection; the message names the backend and the URL without its
        password.
    :raises DBDriverMissing: the URL's driver is not installed.
    """
    connection = _configured['connection']
    if not connection:
        raise exception.DBNotConfigured()
    location = safe_url(connection)
    try:
        engine = context_manager.writer.get_engine()
        with engine.connect():
            pass
    except (ImportError, sa_exc.NoSuchModuleError) as exc:
        raise DBDriverMissing(location=location,
                              reason=_one_line(exc, connection))
    except (db_exception.DBError, sa_exc.SQLAlchemyError) as exc:
        LOG.debug('Connecting to %s failed', location, exc_info=True)
        reason = _one_line(exc, connection)
        if not reason.endswith(('.', '?', '!')):
            reason += '.'
        raise DBConnectionFailed(backend=_backend(connection),
                                 location=location, reason=reason)
    return engine


def write_session(context=None):
    """A session in a writer transaction, as a context manager.

    ``with write_session() as session:`` commits at the end of the block,
    or rolls back if it raises.
    """
    return context_manager.writer.using(context or DBContext())


def read_session(context=None):
    """A session in a reader transaction, as a context manager."""
    return context_manager.reader.using(context or DBContext())
