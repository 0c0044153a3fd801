"""irra-manage db sync and db version, called as irra-manage calls them."""

import io

import fixtures

from irra_openstack.cmd import db_commands
from irra_openstack.db import api
from irra_openstack.db import migration
from irra_openstack import exception
from tests import base


class DbCommandsTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.url = 'sqlite:///%s/irra.sqlite' % self.tmp
        self.stdout = self.useFixture(
            fixtures.MonkeyPatch('sys.stdout', io.StringIO())).new_value
        self.addCleanup(api.dispose)
        self.commands = db_commands.DbCommands(self.conf)

    def _output(self):
        out = self.stdout.getvalue()
        self.stdout.seek(0)
        self.stdout.truncate()
        return out

    def test_version_of_empty_database(self):
        self.commands.version(database_connection=self.url)
        self.assertEqual("The database is not initialised: run "
                         "'irra-manage db sync'.\n", self._output())

    def test_sync_then_version(self):
        head = migration.head()
        self.commands.sync(database_connection=self.url)
        self.assertEqual('Database upgraded from an empty database to '
                         'revision %s.\n' % head, self._output())
        self.commands.sync(database_connection=self.url)
        self.assertEqual('The database is already at revision %s.\n' % head,
                         self._output())
        self.commands.version(database_connection=self.url)
        self.assertEqual(head + '\n', self._output())

    def test_sync_to_revision_from_config(self):
        self.flags(group='database', connection=self.url)
        head = migration.head()
        self.commands.sync(version=head[:4])
        self.assertIn('revision %s.' % head, self._output())

    def test_not_configured(self):
        self.assertRaises(exception.DBNotConfigured, self.commands.sync)
        self.assertRaises(exception.DBNotConfigured, self.commands.version)

    def test_unknown_revision(self):
        self.assertRaises(migration.DBMigrationError, self.commands.sync,
                          version='nope', database_connection=self.url)

    def test_unreachable_server_fails_at_once(self):
        url = 'mysql+pymysql://irra:Secr3t@127.0.0.1:1/irra'
        exc = self.assertRaises(api.DBConnectionFailed, self.commands.sync,
                                database_connection=url)
        self.assertNotIn('Secr3t', str(exc))
        self.assertEqual('', self._output())

    def test_configured_retries_are_kept(self):
        self.flags(group='database', max_retries=7)
        db_commands.DbCommands(self.conf)
        self.assertEqual(7, self.conf.database.max_retries)
