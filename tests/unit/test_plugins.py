"""Tests of the stevedore plugin loader."""

import os
import sys

import fixtures
from oslo_config import cfg

from irra_openstack import exception
from irra_openstack import plugins
from tests import base


class FakeEntryPoints(fixtures.Fixture):
    """Installs a throw-away distribution with the given entry points."""

    def __init__(self, namespace, entries):
        self.namespace = namespace
        self.entries = entries

    def _setUp(self):
        root = self.useFixture(fixtures.TempDir()).path
        info = os.path.join(root, 'irra_fake_plugins-1.0.dist-info')
        os.mkdir(info)
        with open(os.path.join(info, 'METADATA'), 'w') as f:
            f.write('Metadata-Version: 2.1\nName: irra-fake-plugins\n'
                    'Version: 1.0\n')
        with open(os.path.join(info, 'entry_points.txt'), 'w') as f:
            f.write('[%s]\n' % self.namespace)
            for name, target in self.entries.items():
                f.write('%s = %s\n' % (name, target))
        with open(os.path.join(root, 'irra_fake_module.py'), 'w') as f:
            f.write(_FAKE_MODULE)
        self.useFixture(fixtures.MonkeyPatch('sys.path',
                                             [root] + sys.path))
        # stevedore keeps each namespace's entry points for the life of the
        # process; start and end with an empty cache so that neither the
        # fake distribution nor its absence leaks into other tests.
        self.useFixture(fixtures.MonkeyPatch(
            'stevedore.extension.ExtensionManager.ENTRY_POINT_CACHE', {}))
        self.addCleanup(sys.modules.pop, 'irra_fake_module', None)


_FAKE_MODULE = '''
from oslo_config import cfg
from irra_openstack import plugins


class Good(plugins.Plugin):
    name = 'good'

    def __init__(self, size):
        self.size = size

    @classmethod
    def get_config_opts(cls):
        return [cfg.IntOpt('window', default=7, help='A window.')]


class NotAPlugin(object):
    pass

raise_on = None
'''


class PluginLoaderTest(base.TestCase):

    def test_namespaces_declared(self):
        self.assertEqual(
            {'irra.datasources', 'irra.forecasters',
             'irra.anomaly_detectors', 'irra.optimizers', 'irra.schedulers',
             'irra.executors', 'irra.cost_models', 'irra.trace_formats'},
            set(plugins.NAMESPACES))

    def test_config_group(self):
        self.assertEqual('forecasters.seasonal_naive', plugins.config_group(
            'irra.forecasters', 'seasonal_naive'))

    def test_unknown_namespace(self):
        exc = self.assertRaises(exception.PluginError, plugins.available,
                                'irra.nope')
        self.assertIn("unknown plugin namespace 'irra.nope'", str(exc))
        self.assertIn('irra.forecasters', str(exc))

    def test_unknown_name_lists_available(self):
        self.useFixture(FakeEntryPoints(
            'irra.cost_models', {'good': 'irra_fake_module:Good'}))
        exc = self.assertRaises(exception.PluginError, plugins.load,
                                'irra.cost_models', 'bad-name', size=1)
        self.assertIn("unknown cost model 'bad-name'", str(exc))
        self.assertIn('namespace irra.cost_models', str(exc))
        self.assertIn('available: good', str(exc))

    def test_load_builds_with_explicit_arguments(self):
        self.useFixture(FakeEntryPoints(
            'irra.cost_models', {'good': 'irra_fake_module:Good'}))
        plugin = plugins.load('irra.cost_models', 'good', size=3)
        self.assertEqual(3, plugin.size)

    def test_bad_constructor_arguments(self):
        self.useFixture(FakeEntryPoints(
            'irra.cost_models', {'good': 'irra_fake_module:Good'}))
        exc = self.assertRaises(exception.PluginError, plugins.load,
                                'irra.cost_models', 'good', colour='red')
        self.assertIn("cost model plugin 'good'", str(exc))
        self.assertIn('cannot be built', str(exc))

    def test_import_failure_is_named(self):
        self.useFixture(FakeEntryPoints(
            'irra.executors', {'broken': 'irra_no_such_module:Thing'}))
        exc = self.assertRaises(exception.PluginError, plugins.load_class,
                                'irra.executors', 'broken')
        self.assertIn("executor plugin 'broken'", str(exc))
        self.assertIn('failed to load', str(exc))
        self.assertIn('irra_no_such_module', str(exc))

    def test_wrong_base_class(self):
        self.useFixture(FakeEntryPoints(
            'irra.optimizers', {'odd': 'irra_fake_module:NotAPlugin'}))
        exc = self.assertRaises(exception.PluginError, plugins.load_class,
                                'irra.optimizers', 'odd')
        self.assertIn('not a subclass of irra_openstack.plugins.Plugin',
                      str(exc))

    def test_plugin_options_registered_in_own_group(self):
        self.useFixture(FakeEntryPoints(
            'irra.cost_models', {'good': 'irra_fake_module:Good'}))
        conf = cfg.ConfigOpts()
        group = plugins.register_plugin_opts(conf, 'irra.cost_models',
                                             'good')
        conf([], default_config_files=[])
        self.assertEqual(7, group.window)
        self.assertEqual(7, conf['cost_models.good'].window)
        groups = dict(plugins.all_plugin_opts())
        self.assertIn('cost_models.good', groups)

    def test_installed_plugins_all_load(self):
        # Every entry point the package declares imports and derives from
        # Plugin; a typo in setup.cfg fails here.
        for namespace in plugins.NAMESPACES:
            for name in plugins.available(namespace):
                cls = plugins.load_class(namespace, name)
                self.assertEqual(name, cls.name, (namespace, name))
