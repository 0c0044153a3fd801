"""Alembic environment of irra's database migrations.

:mod:`irra_openstack.db.migration` runs alembic on a connection it has
opened, passed as ``config.attributes['connection']``; no alembic.ini is
needed. For a developer writing a new revision, a ``sqlalchemy.url`` main
option (``alembic -x`` or a throw-away ini file) works too, as does
offline (``--sql``) mode.
"""

from alembic import context
import sqlalchemy as sa

from irra_openstack.db import models

config = context.config
target_metadata = models.Base.metadata


def _configure_and_run(**kwargs):
    context.configure(target_metadata=target_metadata,
                      render_as_batch=True, **kwargs)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline():
    """Write the migrations as SQL for ``sqlalchemy.url``'s dialect."""
    _configure_and_run(url=config.get_main_option('sqlalchemy.url'),
                       literal_binds=True)


def run_migrations_online():
    """Run the migrations on the given connection, or on sqlalchemy.url."""
    connection = config.attributes.get('connection')
    if connection is not None:
        _configure_and_run(connection=connection)
        return
    engine = sa.create_engine(config.get_main_option('sqlalchemy.url'),
                              poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            _configure_and_run(connection=connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
