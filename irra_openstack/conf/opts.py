"""Discovery of irra's options, for registration and oslo-config-generator.

Every module of this package except this one must define ``list_opts()``,
returning ``{group_name: [opts]}``, and ``register_opts(conf)``. The
options that plugins declare for themselves are added under their own groups
(see :func:`irra_openstack.plugins.config_group`).
"""

import collections
import importlib
import pkgutil

_PACKAGE = 'irra_openstack.conf'


def _module_names():
    package = importlib.import_module(_PACKAGE)
    return sorted(name for _, name, ispkg in
                  pkgutil.iter_modules(package.__path__)
                  if not ispkg and name != 'opts')


def conf_modules():
    """The option modules of this package, imported and checked."""
    modules = []
    for name in _module_names():
        module = importlib.import_module('%s.%s' % (_PACKAGE, name))
        for func in ('list_opts', 'register_opts'):
            if not callable(getattr(module, func, None)):
                raise RuntimeError(
                    "The module '%s.%s' must define %s()." %
                    (_PACKAGE, name, func))
        modules.append(module)
    return modules


def list_opts():
    """[(group, [opts])] for oslo-config-generator, sorted by group."""
    # Imported here: plugins import irra code that imports this package.
    from irra_openstack import plugins

    grouped = collections.defaultdict(list)
    for module in conf_modules():
        for group, opts in module.list_opts().items():
            grouped[group].extend(opts)
    for group, opts in plugins.all_plugin_opts():
        grouped[group].extend(opts)
    return sorted(grouped.items(), key=lambda kv: kv[0])


def set_lib_defaults():
    """irra's defaults for the options of libraries it uses.

    The ``oslo.config.opts.defaults`` entry point, so that the sample file
    shows what irra-api runs with; irra-api calls it too. oslo.middleware's
    CORS defaults are process-wide, so this is the one place they are set;
    so is oslo.messaging's exchange, ``irra``, which irra-api's notifications
    and irra-rrm's RPC use unless ``[DEFAULT] control_exchange`` says
    otherwise.
    """
    import oslo_messaging
    from oslo_middleware import cors

    oslo_messaging.set_transport_defaults('irra')

    cors.set_defaults(
        allow_headers=['X-Auth-Token', 'X-OpenStack-Request-Id',
                       'OpenStack-API-Version', 'Content-Type'],
        expose_headers=['X-OpenStack-Request-Id', 'OpenStack-API-Version',
                        'ETag'],
        allow_methods=['GET', 'POST', 'PATCH', 'DELETE'])
