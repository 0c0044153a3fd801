"""The alembic migrations, run from Python on sqlite."""

import os

from alembic import autogenerate
from alembic.runtime import migration as alembic_migration
import fixtures
import sqlalchemy as sa

from irra_openstack.db import api
from irra_openstack.db import migration
from irra_openstack.db import models
from tests import base


class MigrationTest(base.TestCase):

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.flags(group='database',
                   connection='sqlite:///%s/irra.sqlite' % tmp)
        api.configure(self.conf)
        self.addCleanup(api.dispose)

    def test_empty_database_has_no_version(self):
        self.assertIsNone(migration.version())

    def test_upgrade_to_head(self):
        self.assertEqual(migration.head(), migration.upgrade())
        self.assertEqual(migration.head(), migration.version())
        tables = set(sa.inspect(api.get_engine()).get_table_names())
        self.assertEqual(
            set(models.Base.metadata.tables) | {'alembic_version'}, tables)

    def test_upgrade_twice_changes_nothing(self):
        migration.upgrade()
        self.assertEqual(migration.head(), migration.upgrade('head'))

    def test_unknown_revision(self):
        exc = self.assertRaises(migration.DBMigrationError,
                                migration.upgrade, 'deadbeef0000')
        self.assertIn('deadbeef0000', str(exc))
        self.assertIsNone(migration.version())

    def test_migrations_match_models(self):
        migration.upgrade()
        with api.get_engine().connect() as connection:
            context = alembic_migration.MigrationContext.configure(
                connection, opts={'compare_type': True})
            diff = autogenerate.compare_metadata(context,
                                                 models.Base.metadata)
        self.assertEqual([], diff)

    def test_constraint_names_match_models(self):
        """Names compare_metadata does not check: checks and uniques."""
        migration.upgrade()
        inspector = sa.inspect(api.get_engine())
        for table in models.Base.metadata.sorted_tables:
            expected = sorted(
                c.name for c in table.constraints
                if isinstance(c, (sa.CheckConstraint, sa.UniqueConstraint)))
            found = sorted(
                [c['name'] for c in
                 inspector.get_check_constraints(table.name)] +
                [c['name'] for c in
                 inspector.get_unique_constraints(table.name)])
            self.assertEqual(expected, found, table.name)

    def test_scripts_are_packaged_with_the_code(self):
        """No alembic.ini: the environment is found next to the module."""
        for name in ('env.py', 'script.py.mako'):
            self.assertTrue(os.path.isfile(
                os.path.join(migration.MIGRATIONS_DIR, name)), name)
        self.assertIsNotNone(migration.head())
