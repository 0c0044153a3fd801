"""Throw-away databases on sqlite and on the machine's database servers.

Each test gets a database of its own, with a unique name, and drops it
afterwards. PostgreSQL and MariaDB are the machine's servers; a test that
cannot reach one fails with the command that starts it, it never skips.
"""

import os
import uuid

import fixtures
import sqlalchemy as sa

from irra_openstack.db import api
from tests import base

POSTGRESQL_URL = os.environ.get(
    'IRRA_TEST_POSTGRESQL_URL',
    'postgresql+psycopg2://postgres@127.0.0.1:5432/postgres')
MYSQL_URL = os.environ.get(
    'IRRA_TEST_MYSQL_URL', 'mysql+pymysql://root@127.0.0.1:3306/')

START_COMMANDS = {
    'postgresql': ('pg_ctlcluster --skip-systemctl-redirect '
                   '$(ls /etc/postgresql) main start'),
    'mysql': ('start-stop-daemon --start --oknodo --background '
              '--exec /usr/sbin/mariadbd'),
}
SERVICE_NAMES = {'postgresql': 'PostgreSQL', 'mysql': 'MariaDB'}


class DatabaseFixture(fixtures.Fixture):
    """A new, empty database on one backend; ``url`` says where.

    ``backend`` is 'sqlite', 'postgresql' or 'mysql'. For the servers,
    ``admin_url`` is a URL with the right to create and drop databases.
    """

    def __init__(self, backend, admin_url=None):
        super().__init__()
        self.backend = backend
        self.admin_url = admin_url

    def _setUp(self):
        name = 'irra_test_%s' % uuid.uuid4().hex[:12]
        if self.backend == 'sqlite':
            tmp = self.useFixture(fixtures.TempDir()).path
            self.url = 'sqlite:///%s/%s.sqlite' % (tmp, name)
            return
        admin = sa.engine.make_url(self.admin_url)
        engine = sa.create_engine(admin, isolation_level='AUTOCOMMIT',
                                  poolclass=sa.pool.NullPool)
        self.addCleanup(engine.dispose)
        quote = engine.dialect.identifier_preparer.quote
        if self.backend == 'postgresql':
            create = 'CREATE DATABASE %s' % quote(name)
            drop = 'DROP DATABASE IF EXISTS %s WITH (FORCE)' % quote(name)
        else:
            create = 'CREATE DATABASE %s CHARACTER SET utf8mb4' % quote(name)
            drop = 'DROP DATABASE IF EXISTS %s' % quote(name)
        self._execute(engine, create)
        self.addCleanup(self._execute, engine, drop)
        self.url = admin.set(database=name).render_as_string(
            hide_password=False)

    def _execute(self, engine, statement):
        try:
            connection = engine.connect()
        except sa.exc.OperationalError as exc:
            raise AssertionError(
                '%s is not reachable at %s (%s). Start it with: %s' % (
                    SERVICE_NAMES[self.backend],
                    engine.url.render_as_string(hide_password=True),
                    ' '.join(str(exc.orig).split()),
                    START_COMMANDS[self.backend]))
        with connection:
            connection.execute(sa.text(statement))


class BackendTestCase(base.TestCase):
    """A test on a fresh database of ``BACKEND``, configured in self.conf.

    Subclasses set ``BACKEND`` to 'sqlite', 'postgresql' or 'mysql'.
    """

    BACKEND = None

    def setUp(self):
        super().setUp()
        admin_url = {'postgresql': POSTGRESQL_URL,
                     'mysql': MYSQL_URL}.get(self.BACKEND)
        self.database = self.useFixture(
            DatabaseFixture(self.BACKEND, admin_url))
        self.db_url = self.database.url
        self.flags(group='database', connection=self.db_url,
                   max_retries=0)
        api.configure(self.conf)
        # Registered last, so run first: no connection left open when the
        # database is dropped.
        self.addCleanup(api.dispose)
