"""CrossRegionRelocationExecutor: failure, compensation and retry paths.

The happy path runs against Nova's harness in
tests/functional/nova/test_relocation.py; here small in-memory services
fail at each step, which the real ones cannot be made to do on demand.
"""

import testtools

from irra_openstack.db import constants
from irra_openstack.executor import base
from irra_openstack.executor import relocation
from irra_openstack.optimizer import actions
from irra_openstack import plugins
from tests.unit.executor import test_relocation_fakes as fakes

S = constants.ActionState


class RelocationTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self._world()

    def _world(self):
        self.src = fakes.FakeConnection('a')
        self.tgt = fakes.FakeConnection('b')
        self.server = self.src.compute.add(
            name='web-1', key_name='ops', metadata={'tier': 'web'},
            addresses={'net-a': [{'addr': '10.0.0.5'}]},
            security_groups=[{'name': 'default'}, {'name': 'web'},
                             {'name': 'web'}])
        self.mapping = relocation.ResourceMapping(
            flavors={'m1.small': 'flavor-b'}, networks={'net-a': 'uuid-b'},
            security_groups={'default': 'default', 'web': 'web-b'},
            key_pairs={'ops': 'ops-b'})
        self.clock = fakes.Clock()
        self.cutovers = []
        self.health = []

    def executor(self, health=True, cutover=None, **kwargs):
        def health_check(conn, server):
            self.health.append(server['id'])
            if isinstance(health, Exception):
                raise health
            return health

        def default_cutover(src, old, tgt, new, key):
            self.cutovers.append((old['id'], new['id']))

        return relocation.CrossRegionRelocationExecutor(
            {'a': self.src, 'b': self.tgt}, self.mapping,
            health_check=health_check, cutover=cutover or default_cutover,
            sleep=self.clock.sleep, clock=self.clock, poll_interval=1.0,
            **kwargs)

    def action(self, server_id=None, source='a', destination='b'):
        return actions.PlannedAction(
            constants.ActionType.RELOCATE, server_id or self.server['id'],
            source=source, destination=destination).with_key('plan')

    def assertNothingInTarget(self):
        self.assertEqual({}, self.tgt.compute.servers_by_id)
        self.assertEqual({}, self.tgt.image.by_id)
        self.assertEqual({}, self.src.image.by_id)

    def assertSourceUntouched(self):
        self.assertEqual([self.server['id']],
                         list(self.src.compute.servers_by_id))
        self.assertNotIn('delete_server', self.src.compute.calls)

    def test_loaded_as_plugin(self):
        cls = plugins.load_class('irra.executors', 'cross_region_relocation')
        self.assertIs(relocation.CrossRegionRelocationExecutor, cls)
        names = {o.name for o in cls.get_config_opts()}
        self.assertIn('boot_timeout', names)

    def test_success_maps_everything_and_deletes_source_last(self):
        outcome = self.executor().execute(self.action())
        self.assertEqual(S.SUCCEEDED, outcome.state, outcome.error)
        kwargs = self.tgt.compute.created
        self.assertEqual('id-of-flavor-b', kwargs['flavor_id'])
        self.assertEqual([{'uuid': 'uuid-b'}], kwargs['networks'])
        self.assertEqual([{'name': 'default'}, {'name': 'web-b'}],
                         kwargs['security_groups'])
        self.assertEqual('ops-b', kwargs['key_name'])
        self.assertEqual('web', kwargs['metadata']['tier'])
        new = outcome.details['target_server']
        image = self.tgt.image.by_id[outcome.details['target_image']]
        self.assertEqual(b'disk of %s' % self.server['id'].encode(),
                         image['data'])
        self.assertEqual({}, self.src.compute.servers_by_id)
        self.assertEqual({}, self.src.image.by_id)  # snapshot cleaned up
        self.assertEqual([new], self.health)
        self.assertEqual([(self.server['id'], new)], self.cutovers)
        # Source deletion came after the cut-over.
        self.assertEqual('delete_server', self.src.compute.calls[-2])

    def test_unmapped_flavor_fails_before_creating_anything(self):
        self.mapping.flavors = {}
        outcome = self.executor().execute(self.action())
        self.assertEqual(S.FAILED, outcome.state)
        self.assertIn("no flavor mapping for 'm1.small'", outcome.error)
        self.assertNotIn('create_server_image', self.src.compute.calls)
        self.assertNothingInTarget()
        self.assertSourceUntouched()

    def test_failures_at_each_step_compensate(self):
        cases = [
            ('transfer', lambda: self.tgt.image.fail.update(
                create_image=RuntimeError('glance b is down')),
             'glance b is down'),
            ('boot', lambda: self.tgt.compute.fail.update(
                create_server=RuntimeError('quota exceeded')),
             'quota exceeded'),
            ('error state', lambda: setattr(self.tgt.compute,
                                            'boot_status', 'ERROR'),
             'went to ERROR'),
            ('boot timeout', lambda: setattr(self.tgt.compute,
                                             'boot_status', 'BUILD'),
             'timed out after 900 s'),
        ]
        for name, inject, message in cases:
            self._world()
            inject()
            outcome = self.executor().execute(self.action())
            self.assertEqual(S.FAILED, outcome.state, name)
            self.assertIn(message, outcome.error, name)
            self.assertNothingInTarget()
            self.assertSourceUntouched()
            self.assertEqual([], self.cutovers, name)

    def test_health_check_failure_and_exception_compensate(self):
        for health in (False, RuntimeError('HTTP 503 from /healthz')):
            self._world()
            outcome = self.executor(health=health).execute(self.action())
            self.assertEqual(S.FAILED, outcome.state)
            self.assertEqual(1, len(outcome.details['compensated'][
                'servers']))
            self.assertNothingInTarget()
            self.assertSourceUntouched()

    def test_cutover_failure_compensates(self):
        def cutover(*args):
            raise RuntimeError('floating IP is in use')
        outcome = self.executor(cutover=cutover).execute(self.action())
        self.assertEqual(S.FAILED, outcome.state)
        self.assertIn('floating IP is in use', outcome.error)
        self.assertNothingInTarget()
        self.assertSourceUntouched()

    def test_source_delete_failure_after_cutover_keeps_target(self):
        self.src.compute.fail['delete_server'] = RuntimeError('nova a 500')
        outcome = self.executor().execute(self.action())
        self.assertEqual(S.FAILED, outcome.state)
        self.assertIn('cut over', outcome.error)
        self.assertIn('must be deleted', outcome.error)
        self.assertEqual(1, len(self.tgt.compute.servers_by_id))

    def test_compensation_failure_is_reported(self):
        self.tgt.compute.boot_status = 'ERROR'
        self.tgt.image.fail['delete_image'] = RuntimeError('glance 500')
        outcome = self.executor().execute(self.action())
        self.assertEqual(S.FAILED, outcome.state)
        self.assertIn('compensation left resources behind', outcome.error)
        self.assertIn('glance 500', outcome.error)

    def test_retry_after_crash_resumes_without_duplicates(self):
        # The first attempt "crashes" in the health check after booting.
        def crash(conn, server):
            raise KeyboardInterrupt
        executor = self.executor()
        executor.health_check = crash
        self.assertRaises(KeyboardInterrupt, executor.execute, self.action())
        self.assertEqual(1, len(self.tgt.compute.servers_by_id))
        self.assertEqual(S.ONGOING, executor.reconcile(self.action()).state)
        executor = self.executor()
        outcome = executor.execute(self.action())
        self.assertEqual(S.SUCCEEDED, outcome.state, outcome.error)
        self.assertEqual(1, self.tgt.compute.calls.count('create_server'))
        self.assertEqual(1, self.tgt.image.calls.count('create_image'))
        self.assertEqual(1, self.src.compute.calls.count(
            'create_server_image'))
        self.assertEqual(1, len(self.tgt.compute.servers_by_id))
        again = executor.execute(self.action())
        self.assertTrue(again.details['already_done'])
        self.assertEqual(1, self.tgt.compute.calls.count('create_server'))
        self.assertEqual(S.SUCCEEDED, executor.reconcile(self.action()).state)

    def test_bad_actions_are_clear_errors(self):
        executor = self.executor()
        err = self.assertRaises(base.ExecutionError, executor.execute,
                                self.action(destination='c'))
        self.assertIn("no connection to target region 'c'", str(err))
        err = self.assertRaises(base.ExecutionError, executor.execute,
                                self.action(destination='a'))
        self.assertIn('use a migration within a region', str(err))
        missing = executor.execute(self.action(server_id='nope'))
        self.assertEqual(S.FAILED, missing.state)
        self.assertIn('does not exist in region a', missing.error)
        err = self.assertRaises(base.ExecutionError, relocation.action_tag,
                                'x' * 60)
        self.assertIn('cannot be a Nova tag', str(err))
        self.assertRaises(ValueError,
                          relocation.CrossRegionRelocationExecutor, {}, None)
        self.assertEqual(S.FAILED,
                         executor.reconcile(self.action()).state)
