"""irra's configuration options.

Each option group has its own module here with ``register_opts(conf)`` and
``list_opts()``; :mod:`irra_openstack.conf.opts` finds them all, for
registration and for the sample file, so adding a module is enough.
"""

from oslo_config import cfg

from irra_openstack.conf import opts as _opts

CONF = cfg.CONF


def register_opts(conf):
    """Register every irra option group on ``conf``."""
    for module in _opts.conf_modules():
        module.register_opts(conf)


register_opts(CONF)
