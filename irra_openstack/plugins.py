"""Loading of irra's pluggable parts through stevedore.

Every pluggable part lives in one of the namespaces below and is a class
derived from :class:`Plugin`. A plugin is built from explicit constructor
arguments; nothing reaches for globals or lazy properties. A plugin may
declare its own configuration options; they live in the group named by
:func:`config_group` and appear in the sample configuration file.
"""

import abc
import importlib.metadata

from oslo_log import log as logging
import stevedore

from irra_openstack import exception

LOG = logging.getLogger(__name__)

#: The stevedore namespaces, with what a plugin of each one is called.
NAMESPACES = {
    'irra.datasources': 'datasource',
    'irra.forecasters': 'forecaster',
    'irra.anomaly_detectors': 'anomaly detector',
    'irra.optimizers': 'optimizer',
    'irra.schedulers': 'migration scheduler',
    'irra.executors': 'executor',
    'irra.cost_models': 'cost model',
    'irra.trace_formats': 'trace format',
}


class Plugin(abc.ABC):
    """Base of every plugin.

    Subclasses set :attr:`name` to their entry point name, write a one-line
    :attr:`description`, and may return their options from
    :meth:`get_config_opts`.
    """

    #: The entry point name, set by each concrete plugin.
    name = None
    #: One line for listings and errors.
    description = ''

    @classmethod
    def get_config_opts(cls):
        """Return the oslo.config options of this plugin (a list)."""
        return []


def config_group(namespace, name):
    """The configuration group of plugin ``name`` in ``namespace``.

    For example ``forecasters.seasonal_naive``.
    """
    _check_namespace(namespace)
    return '%s.%s' % (namespace.split('.', 1)[1], name)


def _check_namespace(namespace):
    if namespace not in NAMESPACES:
        raise exception.PluginError(
            reason="unknown plugin namespace '%s'; the namespaces are %s"
            % (namespace, ', '.join(sorted(NAMESPACES))))


def available(namespace):
    """Sorted names of the plugins installed in ``namespace``."""
    _check_namespace(namespace)
    eps = importlib.metadata.entry_points(group=namespace)
    return sorted({ep.name for ep in eps})


def _names_hint(namespace):
    names = available(namespace)
    return ', '.join(names) if names else '(none installed)'


def load_class(namespace, name, base=Plugin):
    """Import plugin ``name`` of ``namespace`` and return its class.

    :raises PluginError: naming the namespace and the available plugins,
        when the name is unknown, the plugin cannot be imported, or it is
        not a subclass of ``base``.
    """
    _check_namespace(namespace)
    kind = NAMESPACES[namespace]
    failures = []

    def _on_failure(manager, entrypoint, exc):
        failures.append(exc)

    try:
        manager = stevedore.DriverManager(
            namespace, name, invoke_on_load=False,
            on_load_failure_callback=_on_failure)
    except stevedore.exception.NoMatches:
        if failures:
            exc = failures[0]
            raise exception.PluginError(
                reason="%s plugin '%s' (namespace %s) failed to load: "
                       "%s: %s" % (kind, name, namespace,
                                   type(exc).__name__, exc))
        raise exception.PluginError(
            reason="unknown %s '%s' (namespace %s); available: %s"
            % (kind, name, namespace, _names_hint(namespace)))
    except stevedore.exception.MultipleMatches:
        raise exception.PluginError(
            reason="%s '%s' (namespace %s) is registered more than once; "
                   "uninstall the duplicate package" % (kind, name,
                                                        namespace))
    cls = manager.driver
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise exception.PluginError(
            reason="%s plugin '%s' (namespace %s) is %r, which is not a "
                   "subclass of %s.%s"
                   % (kind, name, namespace, cls, base.__module__,
                      base.__name__))
    return cls


def load(namespace, name, *args, base=Plugin, **kwargs):
    """Load plugin ``name`` of ``namespace`` and build it.

    The positional and keyword arguments go to the plugin's constructor.

    :raises PluginError: as :func:`load_class` does, and also when the
        constructor rejects its arguments.
    """
    cls = load_class(namespace, name, base=base)
    try:
        return cls(*args, **kwargs)
    except exception.IrraError:
        raise
    except (TypeError, ValueError) as exc:
        raise exception.PluginError(
            reason="%s plugin '%s' (namespace %s) cannot be built: %s"
            % (NAMESPACES[namespace], name, namespace, exc))


def register_plugin_opts(conf, namespace, name, base=Plugin):
    """Register the options of plugin ``name`` on ``conf``.

    :returns: the plugin's option group on ``conf``, to read values from.
    """
    cls = load_class(namespace, name, base=base)
    group = config_group(namespace, name)
    opts = cls.get_config_opts()
    if opts:
        conf.register_opts(opts, group=group)
    return getattr(conf, group) if opts else None


def all_plugin_opts():
    """[(group, opts)] for every installed plugin that has options.

    Used by the sample configuration generator. A plugin that fails to load
    is an error here: the sample must not silently miss options.
    """
    result = []
    for namespace in sorted(NAMESPACES):
        for name in available(namespace):
            cls = load_class(namespace, name)
            opts = cls.get_config_opts()
            if opts:
                result.append((config_group(namespace, name), opts))
    return result
