"""Unit tests of the reservation manager's checks (no Placement needed).

The manager's work against Placement is tested over HTTP in
tests/functional/executor/test_reservations.py.
"""

from irra_openstack.executor import base
from irra_openstack.rrm import reservations
from tests import base as test_base


class ValidateResourcesTest(test_base.TestCase):

    def test_good(self):
        self.assertEqual({'VCPU': 2, 'CUSTOM_GPU_A': 1},
                         reservations.validate_resources(
                             {'VCPU': 2, 'CUSTOM_GPU_A': 1}))

    def test_bad(self):
        for value, text in (({}, 'non-empty mapping'),
                            ([('VCPU', 1)], 'non-empty mapping'),
                            ({'vcpu': 1}, 'not a resource class'),
                            ({'VCPU': 0}, 'positive integer'),
                            ({'VCPU': -1}, 'positive integer'),
                            ({'VCPU': 1.5}, 'positive integer'),
                            ({'VCPU': True}, 'positive integer')):
            exc = self.assertRaises(reservations.InvalidReservation,
                                    reservations.validate_resources, value)
            self.assertIn(text, str(exc))


class ConsumerForKeyTest(test_base.TestCase):

    def test_same_key_same_consumer_per_region(self):
        a = reservations.consumer_for_key('r1', 'reserve:abc')
        self.assertEqual(a, reservations.consumer_for_key('r1',
                                                          'reserve:abc'))
        self.assertNotEqual(a, reservations.consumer_for_key('r2',
                                                             'reserve:abc'))
        self.assertNotEqual(a, reservations.consumer_for_key('r1',
                                                             'reserve:abd'))
        self.assertEqual(36, len(a))


class ManagerArgumentsTest(test_base.TestCase):

    def test_max_attempts_must_be_positive(self):
        exc = self.assertRaises(reservations.InvalidReservation,
                                reservations.ReservationManager, None, 'r',
                                'p', 'u', max_attempts=0)
        self.assertIn('max_attempts must be at least 1', str(exc))

    def test_reconciler_interval_must_be_positive(self):
        exc = self.assertRaises(reservations.InvalidReservation,
                                reservations.PeriodicReconciler, None, 0)
        self.assertIn('interval must be positive', str(exc))

    def test_report_counts_released_allocations(self):
        report = reservations.ReconcileReport(expired=['a'],
                                              orphans=['b', 'c'],
                                              leaked=['d'], lost=['e'])
        self.assertEqual(4, report.released)


class OutcomeTest(test_base.TestCase):

    def test_states(self):
        for state in ('PENDING', 'ONGOING', 'SUCCEEDED', 'FAILED',
                      'SKIPPED', 'CANCELLED'):
            self.assertEqual(state, base.Outcome(state=state).state)
        exc = self.assertRaises(ValueError, base.Outcome, state='DONE')
        self.assertIn("not 'DONE'", str(exc))
