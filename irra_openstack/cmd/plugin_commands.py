from irra_openstack.cmd import common
from irra_openstack import plugins


class PluginCommands:
    """Show the installed plugins of each namespace."""

    def __init__(self, conf):
        self.conf = conf

    @common.args('--namespace', metavar='NS', default=None,
                 choices=sorted(plugins.NAMESPACES),
                 help='Only this namespace.')
    def list(self, namespace=None):
        """List the installed plugins, by namespace."""
        namespaces = [namespace] if namespace else sorted(plugins.NAMESPACES)
        for ns in namespaces:
            names = plugins.available(ns)
            print('%s (%s): %s' % (ns, plugins.NAMESPACES[ns],
                                   ', '.join(names) if names else '-'))
