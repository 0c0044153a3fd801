"""irra's configuration options.

Each option group has its own module here with ``register_opts(conf)`` and
``list_opts()``; :mod:`irra_openstack.conf.opts` finds them all, for
registration and for the sample file, so adding a module is enough.

Importing this package registers nothing: each program (irra-manage,
irra-api, the services) calls :func:`register_opts` on the configuration
object it parses. Code that runs inside another service's process, such as
the Nova scheduler plugin, must not put irra's groups on that service's
global ``cfg.CONF`` (Nova has an ``[api]`` group too).
"""

from oslo_config import cfg

from irra_openstack.conf import opts as _opts

CONF = cfg.CONF


def register_opts(conf):
    """Register every irra option group on ``conf``.

    Registering the same options twice is harmless.
    """
    for module in _opts.conf_modules():
        module.register_opts(conf)
