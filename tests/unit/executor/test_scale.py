"""CrossRegionScaleExecutor: failure, convergence and refusal paths.

The happy path runs against Nova's harness in
tests/functional/nova/test_relocation.py.
"""

import testtools

from irra_openstack.db import constants
from irra_openstack.executor import base
from irra_openstack.executor import relocation
from irra_openstack.executor import scale
from irra_openstack.optimizer import actions
from irra_openstack import plugins
from tests.unit.executor import test_relocation_fakes as fakes

S = constants.ActionState
OUT = constants.ActionType.SCALE_OUT
IN = constants.ActionType.SCALE_IN


class ScaleTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.a = fakes.FakeConnection('a')
        self.b = fakes.FakeConnection('b')
        self.template = self.a.compute.add(
            name='shop-1', metadata={'irra_app': 'shop'},
            image={'id': 'img-a'}, addresses={'net-a': []})
        self.a.compute.add(name='other', metadata={'irra_app': 'blog'})
        self.mapping = relocation.ResourceMapping(
            flavors={'m1.small': 'flavor-b'}, networks={'net-a': 'net-b'},
            images={'img-a': 'img-b'})
        self.clock = fakes.Clock()

    def executor(self, **kwargs):
        return scale.CrossRegionScaleExecutor(
            {'a': self.a, 'b': self.b}, {'b': self.mapping},
            sleep=self.clock.sleep, clock=self.clock, poll_interval=1.0,
            **kwargs)

    def action(self, action_type, size, region='b', app='shop'):
        where = ({'destination': region} if action_type == OUT
                 else {'source': region})
        return actions.PlannedAction(
            action_type, app, resource_kind=constants.ResourceKind.APP,
            parameters={'size': size}, **where).with_key('plan')

    def test_loaded_as_plugin(self):
        self.assertIs(scale.CrossRegionScaleExecutor,
                      plugins.load_class('irra.executors',
                                         'cross_region_scale'))

    def test_scale_out_maps_template_and_converges(self):
        executor = self.executor()
        outcome = executor.execute(self.action(OUT, 3))
        self.assertEqual(S.SUCCEEDED, outcome.state, outcome.error)
        self.assertEqual(3, outcome.details['changed'])
        created = self.b.compute.created
        self.assertEqual('img-b', created['image_id'])
        self.assertEqual('id-of-flavor-b', created['flavor_id'])
        self.assertEqual([{'uuid': 'net-b'}], created['networks'])
        self.assertEqual('shop', created['metadata']['irra_app'])
        self.assertEqual(3, len(executor.members('b', 'shop')))
        # A repeat creates nothing; a larger size creates only the rest.
        self.assertEqual(0, executor.execute(
            self.action(OUT, 3)).details['changed'])
        self.assertEqual(3, self.b.compute.calls.count('create_server'))
        self.assertEqual(S.SUCCEEDED,
                         executor.reconcile(self.action(OUT, 3)).state)
        self.assertEqual(1, executor.execute(
            self.action(OUT, 4)).details['changed'])

    def test_scale_out_failure_removes_new_servers(self):
        self.b.compute.boot_status = 'ERROR'
        outcome = self.executor().execute(self.action(OUT, 2))
        self.assertEqual(S.FAILED, outcome.state)
        self.assertIn('went to ERROR', outcome.error)
        self.assertEqual(2, len(outcome.details['removed']))
        self.assertEqual({}, self.b.compute.servers_by_id)
        self.assertEqual(S.FAILED, self.executor().reconcile(
            self.action(OUT, 2)).state)

    def test_scale_out_unmapped_image_creates_nothing(self):
        self.mapping.images = {}
        outcome = self.executor().execute(self.action(OUT, 2))
        self.assertEqual(S.FAILED, outcome.state)
        self.assertIn("no image mapping for 'img-a'", outcome.error)
        self.assertNotIn('create_server', self.b.compute.calls)

    def test_scale_in_removes_unhealthy_then_newest(self):
        for index, status in enumerate(('ACTIVE', 'ERROR', 'ACTIVE')):
            self.a.compute.add(id='shop-%d' % index, status=status,
                               metadata={'irra_app': 'shop'},
                               created_at='2026-02-0%d' % (index + 1))
        executor = self.executor()
        outcome = executor.execute(self.action(IN, 2, region='a'))
        self.assertEqual(S.SUCCEEDED, outcome.state, outcome.error)
        self.assertEqual(['shop-1', 'shop-2'], outcome.details['removed'])
        self.assertEqual(2, len(executor.members('a', 'shop')))
        self.assertEqual(0, executor.execute(
            self.action(IN, 2, region='a')).details['changed'])
        self.assertEqual(1, len(executor.members('a', 'blog')))

    def test_stateful_group_and_bad_actions_are_refused(self):
        self.template['metadata']['irra_stateful'] = 'true'
        err = self.assertRaises(base.ExecutionError,
                                self.executor().execute,
                                self.action(IN, 0, region='a'))
        self.assertIn('is stateful', str(err))
        outcome = self.executor().execute(self.action(OUT, 1))
        self.assertEqual(S.FAILED, outcome.state)
        self.assertIn('is stateful', outcome.error)
        self.assertNotIn('create_server', self.b.compute.calls)
        for size in (None, -1, 1.5, True):
            err = self.assertRaises(base.ExecutionError,
                                    self.executor().execute,
                                    self.action(OUT, size))
            self.assertIn('parameters.size must be', str(err))
        err = self.assertRaises(base.ExecutionError,
                                self.executor().execute,
                                self.action(OUT, 1, region='z'))
        self.assertIn("no connection to region 'z'", str(err))
        relocate = actions.PlannedAction(
            constants.ActionType.RELOCATE, 'x', source='a',
            destination='b').with_key('p')
        err = self.assertRaises(base.ExecutionError,
                                self.executor().execute, relocate)
        self.assertIn("not 'relocate'", str(err))
        too_many = self.executor(max_step=2).execute(self.action(OUT, 5))
        self.assertEqual(S.FAILED, too_many.state)
        self.assertIn('exceeds max_step 2', too_many.error)

    def test_group_without_active_member_has_no_template(self):
        outcome = self.executor().execute(self.action(OUT, 1, app='ghost'))
        self.assertEqual(S.FAILED, outcome.state)
        self.assertIn("'ghost' has no ACTIVE server", outcome.error)
        self.assertNotIn('create_server', self.b.compute.calls)
