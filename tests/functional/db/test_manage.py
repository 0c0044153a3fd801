"""irra-manage db sync and db version, run as an operator runs them."""

import os
import subprocess
import sys

import fixtures

from irra_openstack.db import migration
from tests.functional.db import base


def _irra_manage():
    """The installed console script, or the module if it is not there."""
    script = os.path.join(os.path.dirname(sys.executable), 'irra-manage')
    if os.path.exists(script):
        return [script]
    return [sys.executable, '-m', 'irra_openstack.cmd.manage']


class _ManageDbTest:

    def _run(self, *args):
        proc = subprocess.run(_irra_manage() + list(args),
                              capture_output=True, text=True, timeout=300)
        self.assertNotIn('Traceback', proc.stderr)
        self.assertEqual(0, proc.returncode,
                         'irra-manage %s: %s' % (' '.join(args),
                                                 proc.stderr))
        return proc.stdout

    def test_sync_then_version(self):
        head = migration.head()
        conf_file = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'irra.conf')
        with open(conf_file, 'w') as f:
            f.write('[database]\nconnection = %s\n' % self.db_url)

        out = self._run('--config-file', conf_file, 'db', 'version')
        self.assertEqual("The database is not initialised: run "
                         "'irra-manage db sync'.\n", out)
        out = self._run('--config-file', conf_file, 'db', 'sync')
        self.assertEqual('Database upgraded from an empty database to '
                         'revision %s.\n' % head, out)
        out = self._run('db', 'sync', '--database-connection', self.db_url)
        self.assertEqual('The database is already at revision %s.\n' % head,
                         out)
        out = self._run('db', 'version', '--database-connection',
                        self.db_url)
        self.assertEqual(head + '\n', out)
        self.assertEqual(head, migration.version())


class SqliteManageDbTest(_ManageDbTest, base.BackendTestCase):
    BACKEND = 'sqlite'


class PostgresqlManageDbTest(_ManageDbTest, base.BackendTestCase):
    BACKEND = 'postgresql'


class MysqlManageDbTest(_ManageDbTest, base.BackendTestCase):
    BACKEND = 'mysql'
