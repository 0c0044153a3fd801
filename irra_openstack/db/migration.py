"""Schema migrations of irra's database, run with alembic from Python.

The alembic scripts live in ``irra_openstack/db/migrations``; no alembic.ini
is needed. Both functions work on the database that
:func:`irra_openstack.db.api.configure` set up, or on an explicit engine.
"""

import os

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic.runtime import migration as alembic_migration
from alembic import script as alembic_script
from alembic import util as alembic_util
from oslo_log import log as logging

from irra_openstack.db import api
from irra_openstack import exception

LOG = logging.getLogger(__name__)

#: Directory of the alembic environment and its versions.
MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              'migrations')


class DBMigrationError(exception.IrraError):
    """A migration cannot run as asked."""

    msg_fmt = "Cannot migrate the database: %(reason)s"


def _config(connection=None):
    """An alembic configuration for irra's scripts, without an ini file."""
    config = alembic_config.Config()
    # The option is %-interpolated by configparser.
    config.set_main_option('script_location',
                           MIGRATIONS_DIR.replace('%', '%%'))
    if connection is not None:
        config.attributes['connection'] = connection
    return config


def head():
    """The revision that the newest migration script gives."""
    scripts = alembic_script.ScriptDirectory.from_config(_config())
    return scripts.get_current_head()


def upgrade(revision='head', engine=None):
    """Migrate the database up to ``revision`` (the newest by default).

    :param revision: an alembic revision id (or unique prefix), or 'head'.
    :param engine: a SQLAlchemy engine; by default the configured one
        (:func:`irra_openstack.db.api.get_engine`).
    :raises DBMigrationError: the revision is unknown, or older than the
        database's (irra does not migrate down).
    :returns: the revision the database is at afterwards.
    """
    engine = engine if engine is not None else api.get_engine()
    LOG.debug('Migrating %s to %s', engine.url.render_as_string(), revision)
    try:
        with engine.begin() as connection:
            alembic_command.upgrade(_config(connection), revision)
    except alembic_util.CommandError as exc:
        raise DBMigrationError(reason=str(exc).rstrip('.'))
    return version(engine)


def version(engine=None):
    """The revision the database is at, or None if it has no irra schema.

    :param engine: a SQLAlchemy engine; by default the configured one
        (:func:`irra_openstack.db.api.get_engine`).
    """
    engine = engine if engine is not None else api.get_engine()
    with engine.connect() as connection:
        context = alembic_migration.MigrationContext.configure(connection)
        return context.get_current_revision()
