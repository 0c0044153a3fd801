"""The [database] options: oslo.db's own, with irra's defaults.

irra declares no database option of its own. The options are oslo.db's, and
the sample configuration file gets them through oslo.db's ``oslo.db``
generator namespace, so :func:`list_opts` returns nothing.
"""

from oslo_db import options as db_options


def register_opts(conf):
    """Register oslo.db's [database] options on ``conf``.

    No default connection is set: an irra that has not been told where its
    database is says so (see :class:`irra_openstack.exception.DBNotConfigured`)
    rather than silently creating a sqlite file somewhere.
    """
    db_options.set_defaults(conf)


def list_opts():
    """No options of irra's own: oslo.db lists its [database] options."""
    return {}
