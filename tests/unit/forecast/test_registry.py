"""The model registry: versions, metadata, atomic saves and trust checks."""

import datetime
import json
import os

import fixtures
import numpy as np

from irra_openstack.forecast import baselines
from irra_openstack.forecast import registry
from tests import base

T0 = datetime.datetime(2024, 5, 1, 12, 0, 0)


class RegistryTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                 'models')
        self.reg = registry.ModelRegistry(self.root, keep_versions=3)
        rng = np.random.default_rng(0)
        self.history = rng.standard_normal((4, 200)).cumsum(axis=1)

    def _fitted(self):
        f = baselines.SeasonalNaiveForecaster(step=300, horizon=3,
                                              season=12)
        return f.fit(self.history, 0)

    def test_save_and_load_a_forecaster(self):
        model = self._fitted()
        meta = self.reg.save(model, 'seasonal_naive', 'region1/cpu',
                             parameters={'season': 12},
                             training_start=0, training_end=199 * 300,
                             now=T0)
        self.assertEqual(1, meta['version'])
        self.assertEqual('pickle', meta['format'])
        self.assertEqual(64, len(meta['content_hash']))
        self.assertEqual('2024-05-01T12:00:00.000000Z', meta['created_at'])
        self.assertIn('numpy', meta['library_versions'])
        self.assertIn('python', meta['library_versions'])
        self.assertTrue(meta['path'].startswith(self.root + os.sep))
        self.assertEqual(0o600, os.stat(meta['path']).st_mode & 0o777)
        loaded, meta2 = self.reg.load('seasonal_naive', 'region1/cpu')
        self.assertEqual(meta['content_hash'], meta2['content_hash'])
        self.assertEqual({'season': 12}, meta2['parameters'])
        self.assertEqual(59700, meta2['training_end'])
        a = model.predict(self.history, 0)
        b = loaded.predict(self.history, 0)
        np.testing.assert_array_equal(a.upper, b.upper)
        # No temporary directory left behind.
        parent = os.path.dirname(os.path.dirname(meta['path']))
        self.assertEqual(['v000001'], os.listdir(parent))

    def test_versions_and_pruning(self):
        for i in range(5):
            self.reg.save({'w': np.arange(3) * i}, 'ridge', 'ds')
        self.assertEqual([3, 4, 5], self.reg.versions('ridge', 'ds'))
        model, meta = self.reg.load('ridge', 'ds', version=4)
        self.assertEqual('npz', meta['format'])
        np.testing.assert_array_equal([0, 3, 6], model['w'])
        self.assertEqual(5, self.reg.load('ridge', 'ds')[1]['version'])
        self.assertRaises(registry.RegistryError, self.reg.load, 'ridge',
                          'ds', version=1)
        self.assertRaises(registry.RegistryError, self.reg.load, 'gbm',
                          'ds')

    def test_names_stay_inside(self):
        meta = self.reg.save({'x': 1.0}, '../../etc', '..')
        self.assertTrue(os.path.realpath(meta['path']).startswith(
            os.path.realpath(self.root) + os.sep))
        self.assertEqual(1.0, self.reg.load('../../etc', '..')[0]['x'])

    def test_a_taken_version_is_skipped(self):
        self.reg.save({'x': 1.0}, 'm', 'd')
        real = self.reg.versions
        calls = []

        def stale(name, data_set):
            # The first look misses the version another writer just made.
            calls.append(1)
            return [] if len(calls) == 1 else real(name, data_set)
        self.reg.versions = stale
        meta = self.reg.save({'x': 2.0}, 'm', 'd')
        self.assertEqual(2, meta['version'])
        self.assertEqual(1.0, self.reg.load('m', 'd', 1)[0]['x'])

    def test_tampered_file_refused(self):
        meta = self.reg.save(self._fitted(), 'naive', 'd')
        with open(meta['path'], 'ab') as stream:
            stream.write(b'x')
        exc = self.assertRaises(registry.RegistryError, self.reg.load,
                                'naive', 'd')
        self.assertIn('SHA-256', str(exc))

    def test_writable_by_others_refused(self):
        meta = self.reg.save(self._fitted(), 'naive', 'd')
        os.chmod(meta['path'], 0o666)
        exc = self.assertRaises(registry.RegistryError, self.reg.load,
                                'naive', 'd')
        self.assertIn('writable by group or others', str(exc))
        os.chmod(meta['path'], 0o600)
        os.chmod(self.root, 0o777)
        self.addCleanup(os.chmod, self.root, 0o700)
        self.assertRaises(registry.RegistryError, self.reg.load, 'naive',
                          'd')

    def test_symlink_refused(self):
        meta = self.reg.save(self._fitted(), 'naive', 'd')
        other = meta['path'] + '.real'
        os.rename(meta['path'], other)
        os.symlink(other, meta['path'])
        exc = self.assertRaises(registry.RegistryError, self.reg.load,
                                'naive', 'd')
        self.assertIn('symbolic link', str(exc))

    def test_unreadable_metadata(self):
        meta = self.reg.save({'x': 1.0}, 'm', 'd')
        with open(os.path.join(os.path.dirname(meta['path']),
                               registry.METADATA), 'w') as stream:
            stream.write('{not json')
        self.assertRaises(registry.RegistryError, self.reg.load, 'm', 'd')

    def test_object_arrays_are_pickled_not_npz(self):
        meta = self.reg.save({'x': np.array(['a'], dtype=object)}, 'm',
                             'd')
        self.assertEqual('pickle', meta['format'])
        with open(os.path.join(os.path.dirname(meta['path']),
                               registry.METADATA)) as stream:
            self.assertEqual(meta['content_hash'],
                             json.load(stream)['content_hash'])

    def test_from_conf(self):
        self.flags(group='forecast_learning', model_dir=self.root,
                   keep_versions=2)
        reg = registry.ModelRegistry.from_conf(self.conf)
        self.assertEqual(self.root, reg.directory)
        self.assertEqual(2, reg.keep_versions)
