"""Cold-start forecasts from priors over similar VMs."""

import numpy as np

from irra_openstack.forecast import base as fbase
from irra_openstack.forecast import baselines
from irra_openstack.forecast import coldstart
from tests import base

STEP = 3600
DAY = 24
# Profile of each flavor: mean utilisation by hour of day.
HOURS = np.arange(DAY)
PROFILES = {
    'small': 0.2 + 0.1 * np.sin(2 * np.pi * HOURS / DAY),
    'large': 0.6 + 0.2 * np.cos(2 * np.pi * HOURS / DAY),
}


def _vms(rng, flavor, n, days, project='p1', app=None, noise=0.05):
    """n VMs of ``flavor``: its profile plus N(0, noise) noise."""
    profile = np.tile(PROFILES[flavor], days)
    values = profile + noise * rng.standard_normal((n, days * DAY))
    attrs = [{'flavor': flavor, 'project': project, 'app': app}
             for _ in range(n)]
    return values, attrs


def _fleet(seed=0, days=7):
    rng = np.random.default_rng(seed)
    small, a1 = _vms(rng, 'small', 30, days, project='p1')
    large, a2 = _vms(rng, 'large', 30, days, project='p2', app='web')
    return rng, np.vstack([small, large]), a1 + a2


def _model(**kw):
    kw.setdefault('season', DAY)
    return coldstart.PriorModel(STEP, **kw)


class PriorModelTest(base.TestCase):

    def test_new_vm_gets_its_flavor_profile_with_coverage(self):
        rng, history, attrs = _fleet()
        model = _model().fit(history, 0, attrs)
        # 200 new VMs of each flavor, over the next day.
        n_new = 200
        for flavor in ('small', 'large'):
            actual, _ = _vms(rng, flavor, n_new, 1)
            fc = model.forecast(7 * DAY * STEP, DAY,
                                ['new%d' % i for i in range(n_new)],
                                [{'flavor': flavor}] * n_new)
            np.testing.assert_allclose(fc.point[0], PROFILES[flavor],
                                       atol=0.03)
            covered = np.mean((fc.lower <= actual) & (actual <= fc.upper))
            self.assertGreater(covered, 0.87, flavor)
            self.assertLess(covered, 0.94, flavor)
            self.assertEqual('cold start: prior of flavor=%s (30 VMs)'
                             % flavor, fc.reason[0])
            self.assertTrue(fc.valid.all())

    def test_phase_follows_the_clock(self):
        _, history, attrs = _fleet()
        model = _model().fit(history, 0, attrs)
        fc = model.forecast((5 + 9 * DAY) * STEP, 3, ['x'],
                            [{'flavor': 'large'}])
        np.testing.assert_allclose(fc.point[0], PROFILES['large'][5:8],
                                   atol=0.03)
        # A history that starts at 05:00: its first value is hour 5.
        model = _model().fit(history, 5 * STEP, attrs)
        fc = model.forecast(5 * STEP, 3, ['x'], [{'flavor': 'large'}])
        np.testing.assert_allclose(fc.point[0], PROFILES['large'][0:3],
                                   atol=0.03)

    def test_order_of_preference_and_fallbacks(self):
        _, history, attrs = _fleet()
        attrs[0] = dict(attrs[0], app='lonely')  # one VM: too few
        model = _model(attributes=('app', 'flavor', 'project')).fit(
            history, 0, attrs)
        fc = model.forecast(0, 2, ['a', 'b', 'c', 'd', 'e'], [
            {'app': 'web', 'flavor': 'small'},   # app first
            {'app': 'lonely', 'flavor': 'small'},  # app too small
            {'flavor': 'm1.unknown', 'project': 'p2'},
            {'project': 'nope'},
            {}])
        self.assertEqual([
            'cold start: prior of app=web (30 VMs)',
            'cold start: prior of flavor=small (30 VMs)',
            'cold start: prior of project=p2 (30 VMs)',
            'cold start: prior of all VMs (60 VMs)',
            'cold start: prior of all VMs (60 VMs)'], list(fc.reason))
        # The web app is the large flavor.
        self.assertGreater(fc.point[0, 0], 0.6)
        self.assertLess(fc.point[1, 0], 0.3)

    def test_capacity_normalisation(self):
        _, history, attrs = _fleet()
        cores = np.where(np.arange(60) % 2, 2.0, 8.0)
        model = _model().fit(history * cores[:, None], 0, attrs,
                             capacity=cores)
        fc = model.forecast(0, 1, ['x', 'y'], [{'flavor': 'small'}] * 2,
                            capacity=[4.0, np.nan])
        self.assertAlmostEqual(4 * PROFILES['small'][0], fc.point[0, 0],
                               delta=0.1)
        # Unknown capacity: the median learnt from (5 cores).
        self.assertAlmostEqual(5 * PROFILES['small'][0], fc.point[1, 0],
                               delta=0.15)
        self.assertIn('capacity unknown', fc.reason[1])

    def test_bad_data(self):
        rng = np.random.default_rng(1)
        history = np.full((8, 2 * DAY), np.nan)
        history[:4] = 0.5                            # constant series
        history[4, :DAY] = 0.9                        # stops mid-window
        history[4, 3] = np.inf
        history[5, DAY + 5:] = 0.1 + 0.01 * rng.random(DAY - 5)  # late
        attrs = [{'flavor': 'f'}] * 8
        model = _model(min_history=DAY - 5).fit(history, 0, attrs)
        fc = model.forecast(0, DAY, ['n'], [{'flavor': 'f'}])
        # About 6 values a phase: fewer than a 90 % interval needs.
        self.assertEqual('cold start: prior of flavor=f (6 VMs); too few '
                         'values for the nominal level', fc.reason[0])
        self.assertTrue(np.isfinite(fc.point).all())
        self.assertEqual(0.5, fc.point[0, 0])

    def test_no_history_at_all(self):
        model = _model(cold_start=0.25).fit(
            np.full((3, 10), np.nan), 0, [{}] * 3)
        fc = model.forecast(0, 4, ['a'], [{'flavor': 'x'}])
        self.assertFalse(fc.valid[0])
        np.testing.assert_array_equal(0.25, fc.upper)
        self.assertIn('no VM with history', fc.reason[0])

    def test_phase_without_values_is_not_a_prior(self):
        history = np.full((3, DAY), 0.3)
        history[:, 7] = np.nan
        model = _model(min_history=5).fit(history, 0, [{'flavor': 'f'}] * 3)
        fc = model.forecast(0, 1, ['a'], [{'flavor': 'f'}])
        self.assertFalse(fc.valid[0])

    def test_unfitted_and_bad_arguments(self):
        self.assertRaises(fbase.ForecastError, _model().forecast, 0, 1,
                          ['a'], [{}])
        self.assertRaises(fbase.ForecastError, _model, attributes=('all',))
        self.assertRaises(fbase.ForecastError, _model().fit,
                          np.zeros((2, 3)), 0, [{}])

    def test_from_conf(self):
        self.flags(group='forecast', step=600, season=86400)
        self.flags(group='forecast_learning',
                   cold_start_attributes=['app', 'flavor'],
                   cold_start_min_vms=5, cold_start_full_history=7200)
        model = coldstart.PriorModel.from_conf(self.conf)
        self.assertEqual((600, 144, ('app', 'flavor'), 5, 12),
                         (model.step, model.season, model.attributes,
                          model.min_vms, model.full_history))

    def test_expected_utilisation(self):
        _, history, attrs = _fleet()
        result = coldstart.expected_utilisation(history, 0, STEP, attrs,
                                                season=DAY)
        self.assertEqual({'flavor', 'project', 'app', 'all'}, set(result))
        small = result['flavor']['small']
        self.assertAlmostEqual(0.2, small['mean'], delta=0.01)
        self.assertAlmostEqual(0.3, small['median_peak'], delta=0.03)
        self.assertGreater(small['upper_peak'], small['median_peak'])
        self.assertEqual(30, small['n_vms'])
        self.assertAlmostEqual(0.6, result['app']['web']['mean'],
                               delta=0.01)
        self.assertEqual(60, result['all']['*']['n_vms'])
        self.assertEqual({'p1', 'p2'}, set(result['project']))


class BlendTest(base.TestCase):

    def _fc(self, value, reason='', valid=True, model='m'):
        point = np.full((3, 2), float(value))
        return fbase.Forecast(
            series=['a', 'b', 'c'], metric='cpu', start=0, step=STEP,
            level=0.9, point=point, lower=point - 1, upper=point + 1,
            valid=[valid] * 3, reason=(reason,) * 3, model=model)

    def test_weights(self):
        own = self._fc(10.0, model='naive')
        prior = self._fc(0.0, 'cold start: prior of all VMs (9 VMs)',
                         model='prior')
        out = coldstart.blend(own, prior, [0, 12, 24], 24)
        np.testing.assert_allclose(out.point[:, 0], [0.0, 5.0, 10.0])
        np.testing.assert_allclose(out.upper[:, 0], [1.0, 6.0, 11.0])
        self.assertEqual('cold start: prior of all VMs (9 VMs)',
                         out.reason[0])
        self.assertEqual('cold start: prior of all VMs (9 VMs) (50% '
                         'prior, 12 of 24 values of own history)',
                         out.reason[1])
        self.assertEqual('', out.reason[2])
        self.assertEqual('naive', out.model)

    def test_invalid_own_has_no_weight(self):
        out = coldstart.blend(self._fc(10.0, valid=False), self._fc(1.0),
                              [24, 24, 24], 24)
        np.testing.assert_allclose(out.point, 1.0)

    def test_mismatch(self):
        own = self._fc(1.0)
        other = fbase.Forecast(
            series=['a', 'b', 'c'], metric='cpu', start=STEP, step=STEP,
            level=0.9, point=np.zeros((3, 2)), lower=np.zeros((3, 2)),
            upper=np.zeros((3, 2)), valid=[True] * 3, reason=('',) * 3,
            model='x')
        self.assertRaises(fbase.ForecastError, coldstart.blend, own,
                          other, [1, 1, 1], 2)

    def test_cold_start_forecast(self):
        rng, history, attrs = _fleet(days=3)
        new, _ = _vms(rng, 'large', 2, 3)
        new[0, :-5] = np.nan     # five hours old
        new[1] = np.nan          # brand new
        history = np.vstack([history, new])
        attrs = attrs + [{'flavor': 'large'}] * 2
        series = ['vm%d' % i for i in range(len(attrs))]
        priors = _model().fit(history, 0, attrs)
        forecaster = baselines.SeasonalNaiveForecaster(
            step=STEP, horizon=4, season=DAY)
        fc = coldstart.cold_start_forecast(forecaster, priors, history, 0,
                                           series, attrs, metric='cpu')
        self.assertIn('prior of flavor=large (30 VMs) (79% prior, 5 of '
                      '24 values', fc.reason[-2])
        self.assertEqual('cold start: prior of flavor=large (30 VMs)',
                         fc.reason[-1])
        self.assertTrue(fc.valid.all())
        np.testing.assert_allclose(fc.point[-1],
                                   PROFILES['large'][:4], atol=0.05)
        self.assertTrue(np.isfinite(fc.upper).all())
