"""A test case with its own migrated sqlite database."""

import fixtures

from irra_openstack.db import api
from irra_openstack.db import migration
from tests import base


class DBTestCase(base.TestCase):
    """A test with a fresh, migrated sqlite database in a temporary file.

    The database is configured from the test's private ``self.conf``.
    """

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.db_url = 'sqlite:///%s/irra.sqlite' % tmp
        self.flags(group='database', connection=self.db_url)
        api.configure(self.conf)
        self.addCleanup(api.dispose)
        migration.upgrade()
