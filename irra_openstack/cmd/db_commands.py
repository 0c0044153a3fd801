"""irra-manage db: create and upgrade irra's database schema."""

import logging

from irra_openstack.cmd import common
from irra_openstack.db import api as db_api
from irra_openstack.db import migration

_CONNECTION_ARG = common.args(
    '--database-connection', metavar='URL', dest='database_connection',
    default=None,
    help='Database URL to use instead of [database] connection, e.g. '
         'postgresql+psycopg2://irra:PASSWORD@HOST/irra.')


class DbCommands:
    """Create, upgrade and inspect irra's database schema."""

    def __init__(self, conf):
        self.conf = conf
        # An operator at a shell wants an unreachable server reported at
        # once, not after oslo.db's ten retries ten seconds apart. A
        # max_retries set in the configuration file still applies.
        self.conf.set_default('max_retries', 0, group='database')
        # Alembic logs each step at INFO, and irra-manage's log lines go to
        # standard output: keep them out of the command's output, unless
        # --debug asks for everything.
        if not getattr(conf, 'debug', False):
            logging.getLogger('alembic').setLevel(logging.WARNING)

    def _engine(self, database_connection):
        """Configure the database from conf (or the URL given) and connect."""
        if database_connection:
            self.conf.set_override('connection', database_connection,
                                   group='database')
        db_api.configure(self.conf)
        return db_api.get_engine()

    @_CONNECTION_ARG
    @common.args('--version', metavar='REV', dest='version', default=None,
                 help='Revision to migrate to (default: the newest).')
    def sync(self, version=None, database_connection=None):
        """Create or upgrade the database schema, to the newest by default.

        Safe to run again: a database that is already at the revision asked
        for is left as it is. The revision reached is printed.
        """
        engine = self._engine(database_connection)
        before = migration.version(engine)
        after = migration.upgrade(version or 'head', engine=engine)
        if before == after:
            print('The database is already at revision %s.' % after)
        else:
            print('Database upgraded from %s to revision %s.' %
                  (before or 'an empty database', after))

    @_CONNECTION_ARG
    def version(self, database_connection=None):
        """Print the revision of the database schema.

        Says so when the database has no irra schema yet, and when a newer
        revision is available.
        """
        engine = self._engine(database_connection)
        current = migration.version(engine)
        if current is None:
            print("The database is not initialised: run "
                  "'irra-manage db sync'.")
            return
        head = migration.head()
        if current == head:
            print(current)
        else:
            print("%s (the newest revision is %s: run "
                  "'irra-manage db sync')" % (current, head))
