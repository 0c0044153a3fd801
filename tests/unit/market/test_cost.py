"""The cost model plugins and the arrays they give the region LP."""

import numpy as np

from irra_openstack.market import cost
from irra_openstack import plugins
from tests import base

REGIONS = ['east', 'west', 'north']
CLASSES = ['VCPU', 'MEMORY_MB']


class UnitPriceTest(base.TestCase):

    def test_most_specific_key_wins(self):
        model = cost.UnitPriceCost(default=1.0, prices={
            '*/*': 2.0, '*/MEMORY_MB': 0.01, 'west/*': 3.0,
            'west/MEMORY_MB': 0.02, 'elsewhere/VCPU': 9.0})
        np.testing.assert_allclose(
            [[2.0, 0.01], [3.0, 0.02], [2.0, 0.01]],
            model.coefficients(REGIONS, CLASSES))

    def test_default(self):
        model = cost.UnitPriceCost(default=0.5)
        np.testing.assert_allclose(np.full((3, 2), 0.5),
                                   model.coefficients(REGIONS, CLASSES))

    def test_bad_settings(self):
        for prices, text in (({'west': 1}, 'REGION/CLASS'),
                             ({'west/VCPU': -1}, 'not negative'),
                             ({'west/VCPU': 'x'}, 'must be a number'),
                             ({'west/VCPU': float('inf')}, 'finite')):
            exc = self.assertRaises(cost.CostModelError,
                                    cost.UnitPriceCost, prices=prices)
            self.assertIn(text, str(exc))
        exc = self.assertRaises(cost.CostModelError,
                                cost.UnitPriceCost().coefficients,
                                ['a', 'a'], CLASSES)
        self.assertIn('not unique', str(exc))


class TransferTest(base.TestCase):

    def test_matrix(self):
        model = cost.TransferCost(
            default=0.1, costs={'east>west': 0.5, 'west>north': 0.7,
                                'north>west': 0.9},
            class_factors={'MEMORY_MB': 0.01})
        out = model.coefficients(REGIONS, CLASSES)
        self.assertEqual((3, 3, 2), out.shape)
        expected = np.array([[0.0, 0.5, 0.1],
                             [0.5, 0.0, 0.7],
                             [0.1, 0.9, 0.0]])
        np.testing.assert_allclose(expected, out[:, :, 0])
        np.testing.assert_allclose(expected * 0.01, out[:, :, 1])

    def test_asymmetric(self):
        model = cost.TransferCost(default=0.1, costs={'east>west': 0.5},
                                  symmetric=False)
        out = model.coefficients(REGIONS, CLASSES)[:, :, 0]
        self.assertEqual(0.5, out[0, 1])
        self.assertEqual(0.1, out[1, 0])

    def test_bad_key(self):
        for key in ('east', 'east>east', '>west'):
            self.assertRaises(cost.CostModelError, cost.TransferCost,
                              costs={key: 1.0})


class PenaltyTest(base.TestCase):

    def test_per_app(self):
        model = cost.SLAPenaltyCost(penalties={'gold': 100, 'bronze': 5},
                                    class_factors={'MEMORY_MB': 0.001})
        out = model.coefficients(REGIONS, CLASSES,
                                 tiers=['bronze', 'gold', 'gold'])
        np.testing.assert_allclose(
            [[5.0, 0.005], [100.0, 0.1], [100.0, 0.1]], out)

    def test_unknown_tier_and_missing_tiers(self):
        model = cost.SLAPenaltyCost()
        exc = self.assertRaises(cost.CostModelError, model.coefficients,
                                REGIONS, CLASSES, tiers=['tin'])
        self.assertIn("'tin' has no penalty", str(exc))
        self.assertRaises(cost.CostModelError, model.coefficients,
                          REGIONS, CLASSES)
        self.assertRaises(cost.CostModelError, cost.SLAPenaltyCost,
                          penalties={})


class PluginTest(base.TestCase):

    def test_entry_points_and_options(self):
        for name, cls in (('unit_price', cost.UnitPriceCost),
                          ('transfer', cost.TransferCost),
                          ('sla_penalty', cost.SLAPenaltyCost)):
            self.assertIs(cls, plugins.load_class(cost.NAMESPACE, name,
                                                  base=cost.CostModel))
            group = plugins.register_plugin_opts(self.conf, cost.NAMESPACE,
                                                 name)
            for opt in cls.get_config_opts():
                self.assertTrue(opt.help)
            self.assertIsInstance(cls.from_conf(group), cls)
        self.flags(group='cost_models.sla_penalty',
                   penalties={'gold': '7'})
        group = plugins.register_plugin_opts(self.conf, cost.NAMESPACE,
                                             'sla_penalty')
        model = cost.SLAPenaltyCost.from_conf(group)
        np.testing.assert_allclose(
            [[7.0, 7.0]], model.coefficients(REGIONS, CLASSES,
                                             tiers=['gold']))
