"""Unit tests of the placement_reservation executor's input handling.

Everything here is refused before Placement would be asked; the executor's
work against a real Placement is in tests/functional/executor.
"""

from irra_openstack.db import constants
from irra_openstack import exception
from irra_openstack.executor import base
from irra_openstack.executor import reservation
from irra_openstack.optimizer import actions
from tests import base as test_base

State = constants.ActionState


class UnusedManager:
    """A manager that fails the test if the executor reaches it."""

    region = 'r1'

    def __getattr__(self, name):
        raise AssertionError('the executor called the manager (%s) on '
                             'input it should have refused' % name)


class ReservationExecutorInputTest(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.executor = reservation.ReservationExecutor(UnusedManager())

    def _reserve(self, key='plan-1', **params):
        action = actions.PlannedAction(
            constants.ActionType.RESERVE, 'surge',
            resource_kind=constants.ResourceKind.HOST, parameters=params)
        return action.with_key(key) if key else action

    def test_needs_a_key(self):
        outcome = self.executor.execute(self._reserve(
            key=None, resources={'VCPU': 1}, providers=['x']))
        self.assertEqual(State.FAILED, outcome.state)
        self.assertIn('needs an idempotency key', outcome.error)

    def test_needs_providers_or_hosts(self):
        outcome = self.executor.execute(self._reserve(
            resources={'VCPU': 1}))
        self.assertEqual(State.FAILED, outcome.state)
        self.assertIn('needs providers, host or hosts', outcome.error)

    def test_wrong_action_type(self):
        action = actions.PlannedAction(constants.ActionType.LIVE_MIGRATE,
                                       'vm-1')
        exc = self.assertRaises(base.ExecutionError, self.executor.execute,
                                action)
        self.assertIn("not 'live_migrate'", str(exc))

    def test_options(self):
        self.assertEqual({'default_ttl': 3600}, self.executor.options)
        ex = reservation.ReservationExecutor(UnusedManager(),
                                             {'default_ttl': 60})
        self.assertEqual(60, ex.options['default_ttl'])
        exc = self.assertRaises(exception.ConfigError,
                                reservation.ReservationExecutor,
                                UnusedManager(), {'ttl': 60})
        self.assertIn('has no option ttl', str(exc))

    def test_from_config_needs_a_reservation_factory(self):
        self.flags(group='rrm', reservation_factory=None)
        exc = self.assertRaises(
            exception.ConfigError,
            reservation.ReservationExecutor.from_config, self.conf, 'r1')
        self.assertIn('[rrm] reservation_factory', str(exc))


class ViewTest(test_base.TestCase):

    def test_record_and_planned_action_read_alike(self):
        planned = actions.PlannedAction(
            constants.ActionType.RESERVE, 'surge', destination='cmp-1',
            parameters={'resources': {'VCPU': 2}}).with_key('p')
        from_record = base.view(planned.as_record())
        from_object = base.view(planned)
        self.assertEqual(from_object, from_record)
        self.assertEqual({'resources': {'VCPU': 2}}, from_record.parameters)
        self.assertEqual(planned.key, from_record.key)

    def test_incomplete_action(self):
        exc = self.assertRaises(base.ExecutionError, base.view,
                                {'idempotency_key': 'k'})
        self.assertIn('needs an action_type and a resource_id', str(exc))
