"""The digital twin against a simulated M/M/c queue with known parameters."""

import fixtures
import numpy as np

from irra_openstack import frame
from irra_openstack.twin import model
from irra_openstack.twin import queueing
from irra_openstack.twin import simulation
from tests import base as test_base

MU = 2.0                     # requests per second per server
SERVERS = (2, 4, 8)
RHOS = (0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)

_CACHE = {}


def simulated(seed=0):
    """(load, servers, measured response, measured queue) of the runs.

    More customers near saturation, where the mean converges slowly.
    """
    if seed not in _CACHE:
        rng = np.random.default_rng(seed)
        rows = []
        for c in SERVERS:
            for rho in RHOS:
                customers = int(10000 / (1 - rho) ** 1.5)
                run = simulation.simulate_mmc(rho * c * MU, MU, c,
                                              customers, rng)
                rows.append((rho * c * MU, c, run.mean_response,
                             run.mean_queue_length, run.mean_wait))
        _CACHE[seed] = np.array(rows).T
    return _CACHE[seed]


class QueueingFormulaTest(test_base.TestCase):

    def test_known_values(self):
        # M/M/1: P(wait) = rho; M/M/2 at a = 1: C = 1/3.
        self.assertAlmostEqual(0.5, float(queueing.erlang_c(1, 0.5)))
        self.assertAlmostEqual(1 / 3, float(queueing.erlang_c(2, 1.0)))
        # Erlang B by its sum, for whole c.
        a, c = 3.2, 5
        terms = [a ** k / np.prod(np.arange(1, k + 1)) for k in range(6)]
        self.assertAlmostEqual(terms[c] / sum(terms),
                               float(queueing.erlang_b(c, a)))
        fig = queueing.mmc(1.0, 2.0, 1)
        self.assertAlmostEqual(1 / (2.0 - 1.0), float(fig['response']))

    def test_real_servers_between_whole(self):
        waits = queueing.mmc(3.0, 1.0, [4.0, 4.5, 5.0])['wait']
        self.assertTrue(waits[0] > waits[1] > waits[2])

    def test_unstable_is_infinite(self):
        fig = queueing.mmc([4.0, 5.0], 1.0, 4, timeout=1.0)
        np.testing.assert_array_equal([False, False], fig['stable'])
        self.assertTrue(np.isinf(fig['response']).all())
        np.testing.assert_array_equal([1, 1], fig['p_wait_over'])


class SimulationTest(test_base.TestCase):

    def test_simulation_matches_theory_at_moderate_load(self):
        run = simulation.simulate_mmc(4.0, 1.0, 5, 60000,
                                      np.random.default_rng(3))
        fig = queueing.mmc(4.0, 1.0, 5)
        self.assertAlmostEqual(float(fig['response']), run.mean_response,
                               delta=0.05 * float(fig['response']))
        self.assertAlmostEqual(float(fig['p_wait']), run.p_wait, delta=0.03)
        self.assertAlmostEqual(0.8, run.utilisation, delta=0.02)


class TwinTest(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(level='INFO'))
        load, servers, response, _, _ = simulated()
        self.twin = model.QueueingTwin(name='web').fit(load, servers,
                                                       response)

    def test_recovers_parameters(self):
        self.assertAlmostEqual(MU, self.twin.service_rate, delta=0.05 * MU)
        self.assertAlmostEqual(1.0, self.twin.efficiency, delta=0.05)
        self.assertGreater(self.twin.domain['rho_max'], 0.9)

    def test_recovers_analytic_curve_up_to_saturation(self):
        rho = np.linspace(0.05, 0.95, 91)
        # Capacities seen and one between them (6 servers).
        for c in (2, 4, 6, 8):
            answer = self.twin.predict(rho * c * MU, c)
            truth = queueing.mmc(rho * c * MU, MU, c)['response']
            error = np.abs(answer.value / truth - 1)
            self.assertTrue(answer.ok.all(), answer.status)
            self.assertLess(error[rho <= 0.9].max(), 0.05, c)
            self.assertLess(error.max(), 0.10, c)

    def test_other_metrics_from_the_same_fit(self):
        load, servers, _, queue, wait = simulated()
        answer = self.twin.predict(load, servers, metric='queue_length')
        truth = queueing.mmc(load, MU, servers)['queue_length']
        high = load / (servers * MU) >= 0.5
        np.testing.assert_allclose(answer.value[high], truth[high],
                                   rtol=0.15)

    def test_unstable_is_explicit(self):
        # 4 servers x 2/s = 8/s: 7.9 is stable but beyond the data; the
        # twin's own capacity estimate, and beyond, are unstable.
        fitted = 4 * self.twin.efficiency * self.twin.service_rate
        answer = self.twin.predict([7.9, fitted, 8.5, 20.0], 4)
        self.assertEqual(['extrapolated', 'unstable', 'unstable',
                          'unstable'], answer.status.tolist())
        self.assertTrue(np.isfinite(answer.value[0]))
        self.assertTrue(np.isinf(answer.value[1:]).all())
        self.assertFalse(answer.stable[1:].any())
        self.assertRaises(model.TwinExtrapolationError, self.twin.predict,
                          20.0, 4, strict=True)

    def test_capacity_outside_data_flagged(self):
        answer = self.twin.predict([2.0, 2.0, 2.0], [1.5, 4, 16])
        self.assertEqual(['extrapolated', 'ok', 'extrapolated'],
                         answer.status.tolist())

    def test_vectorised_queries(self):
        load = np.linspace(1, 10, 50)[:, None]
        capacity = np.array([2, 4, 8])[None, :]
        answer = self.twin.predict(load, capacity)
        self.assertEqual((50, 3), answer.value.shape)
        finite = np.isfinite(answer.value)
        # More capacity never hurts; more load never helps.
        diffs = np.diff(np.where(finite, answer.value, 1e9), axis=1)
        self.assertTrue((diffs <= 0).all())
        self.assertTrue((np.diff(answer.value, axis=0)[finite[1:]] >=
                         0).all())

    def test_capacity_for_target(self):
        need = self.twin.capacity_for([4.0, 12.0], target=0.6)
        for load, cap in zip([4.0, 12.0], need):
            self.assertLessEqual(
                float(queueing.mmc(load, MU, cap)['response']), 0.6 * 1.05)
            self.assertGreater(
                float(queueing.mmc(load, MU, cap * 0.95)['response']),
                0.6 * 0.95)

    def test_persistence(self):
        again = model.QueueingTwin.from_dict(self.twin.to_dict())
        np.testing.assert_array_equal(
            self.twin.predict([3.0, 9.0], 6).value,
            again.predict([3.0, 9.0], 6).value)


class TwinRobustnessTest(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(level='INFO'))

    def test_bad_points_left_out(self):
        load, servers, response, _, _ = simulated()
        load = load.copy()
        load[:3] = np.nan
        response = response.copy()
        response[3] = -1
        twin = model.QueueingTwin().fit(load, servers, response)
        self.assertAlmostEqual(MU, twin.service_rate, delta=0.1 * MU)
        self.assertIn('4 of 27 observations left out', self.log.output)

    def test_too_little_data(self):
        self.assertRaises(model.TwinError, model.QueueingTwin().fit,
                          [1, 2], [1, 1], [0.5, 0.6])
        self.assertRaises(model.TwinError, model.QueueingTwin().predict,
                          1, 1)

    def test_bad_arguments(self):
        self.assertRaises(model.TwinError, model.QueueingTwin,
                          metric='happiness')
        self.assertRaises(model.TwinError, model.QueueingTwin,
                          metric='error_rate')

    def test_fit_applications_from_frame(self):
        load, servers, response, _, _ = simulated()
        values = np.stack([np.stack([load, servers, response]),
                           np.full((3, load.size), np.nan)])
        apps = frame.MetricFrame(
            start=0, step=60, resources=['shop', 'silent'],
            metrics=('request_rate', 'capacity', 'latency'),
            values=values, kind='app')
        twins = model.fit_applications(apps)
        self.assertEqual(['shop'], list(twins))
        self.assertIn('No digital twin for silent', self.log.output)

    def test_error_rate_twin(self):
        load, servers, _, _, _ = simulated()
        truth = queueing.mmc(load, MU, servers, timeout=0.5)['p_wait_over']
        twin = model.QueueingTwin(metric='error_rate', timeout=0.5).fit(
            load, servers, truth)
        self.assertAlmostEqual(MU, twin.service_rate, delta=0.02 * MU)
