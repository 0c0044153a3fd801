"""Cross-region relocation and scaling against Nova's in-process harness.

What is real: Nova's API (its policies, microversion 2.90, the tags and
availability-zone filters, createImage, boot and delete), conductor,
scheduler and computes with the fake virt driver, and Placement: every
server here is scheduled and allocated for real.

What stands in: two independent Novas cannot run in one process, so the
two regions are two availability zones of one Nova (hosts host1/host2 in
``region-a``, host3/host4 in ``region-b``); the image service is Nova's
``GlanceFixture`` (in memory), seen per region through
:mod:`irra_openstack.rrm.fault_harness`, so the transfer is a real
download and upload between two image stores' views.
"""

import os
import sys

from nova.tests.functional import integrated_helpers

from irra_openstack.db import constants
from irra_openstack.executor import relocation
from irra_openstack.executor import scale
from irra_openstack.optimizer import actions
from irra_openstack.rrm import fault_harness

REGIONS = {'region-a': ('host1', 'host2'), 'region-b': ('host3', 'host4')}


class _TwoRegions(integrated_helpers.ProviderUsageBaseTestCase):

    compute_driver = 'fake.MediumFakeDriver'

    def setUp(self):
        self.flags(api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'), group='wsgi')
        super().setUp()
        self.rps = {}
        for zone, hosts in REGIONS.items():
            agg = self._create_aggregate(zone, availability_zone=zone)
            for host in hosts:
                self._start_compute(host)
                self.admin_api.add_host_to_aggregate(agg, host)
                self.rps[host] = self._get_provider_uuid_by_host(host)
        public = list(self.glance.images)
        self.conns = {zone: fault_harness.RegionConnection(
            self.admin_api, self.glance, zone, public_images=public)
            for zone in REGIONS}
        flavor_id = self._create_flavor(name='irra.small', vcpu=1,
                                        memory_mb=512, disk=1)
        self.flavor = self.api.get_flavor(flavor_id)
        self.sleeps = []

    def _clear_attrs(self):
        # Keep the test method for pytest (see test_scheduler).
        pass

    def _boot(self, zone, metadata=None):
        server = self._build_server(flavor_id=self.flavor['id'],
                                    networks='none', az=zone)
        if metadata:
            server['metadata'] = metadata
        created = self.api.post_server({'server': server})
        return self._wait_for_state_change(created, 'ACTIVE')

    def _assert_unallocated(self, server_id):
        # Nova marks a server DELETED before its compute removes the
        # allocation; wait for that (a bounded number of reads).
        self._wait_for_assert(lambda: self.assertEqual(
            {}, self._get_allocations_by_server_uuid(server_id)),
            max_retries=40, sleep=0.1)

    def _allocated_hosts(self, server_id):
        by_rp = {rp: host for host, rp in self.rps.items()}
        return sorted(by_rp[rp] for rp in
                      self._get_allocations_by_server_uuid(server_id))


class RelocationTest(_TwoRegions):

    def _executor(self, health=True):
        self.checked, self.cut = [], []

        def health_check(conn, server):
            self.checked.append((conn.region, server['id']))
            return health

        def cutover(src, old, tgt, new, key):
            self.cut.append((old['id'], new['id'], key))

        return relocation.CrossRegionRelocationExecutor(
            self.conns, relocation.ResourceMapping(passthrough=True),
            health_check=health_check, cutover=cutover,
            sleep=self.sleeps.append, poll_interval=0.2)

    def _action(self, server):
        return actions.PlannedAction(
            constants.ActionType.RELOCATE, server['id'], source='region-a',
            destination='region-b').with_key('plan-1')

    def test_relocation_moves_server_and_allocations(self):
        server = self._boot('region-a', metadata={'tier': 'web'})
        self.assertIn(self._allocated_hosts(server['id'])[0],
                      REGIONS['region-a'])
        executor = self._executor()
        action = self._action(server)
        outcome = executor.execute(action)
        self.assertEqual(constants.ActionState.SUCCEEDED, outcome.state,
                         outcome.error)
        new_id = outcome.details['target_server']
        new = self.admin_api.get_server(new_id)
        self.assertEqual('ACTIVE', new['status'])
        self.assertEqual('region-b', new['OS-EXT-AZ:availability_zone'])
        self.assertEqual('web', new['metadata']['tier'])
        self.assertEqual(action.key, new['metadata']['irra_action_key'])
        self.assertEqual(server['id'], new['metadata'][
            'irra_relocated_from'])
        self.assertIn(relocation.action_tag(action.key), new['tags'])
        # Placement: the new server is allocated in region-b, the source's
        # allocation is gone with it.
        self.assertEqual(1, len(self._allocated_hosts(new_id)))
        self.assertIn(self._allocated_hosts(new_id)[0],
                      REGIONS['region-b'])
        self._wait_until_deleted(server)
        self._assert_unallocated(server['id'])
        # The image was copied into region-b; the source snapshot is gone.
        target_image = outcome.details['target_image']
        self.assertEqual(new['image']['id'], target_image)
        self.assertEqual([target_image], [
            i['id'] for i in self.conns['region-b'].image.images(
                tag=[relocation.action_tag(action.key)])])
        self.assertEqual([], self.conns['region-a'].image.images(
            tag=[relocation.action_tag(action.key)]))
        self.assertNotIn(outcome.details['source_snapshot'],
                         self.glance.images)
        self.assertEqual([('region-b', new_id)], self.checked)
        self.assertEqual([(server['id'], new_id, action.key)], self.cut)
        # The same action again finds the work done and creates nothing.
        creates = dict(self.conns['region-b'].compute.calls)
        again = executor.execute(action)
        self.assertEqual(constants.ActionState.SUCCEEDED, again.state)
        self.assertTrue(again.details['already_done'])
        self.assertEqual(new_id, again.details['target_server'])
        self.assertEqual(creates.get('create_server'),
                         self.conns['region-b'].compute.calls.get(
                             'create_server'))
        self.assertEqual(constants.ActionState.SUCCEEDED,
                         executor.reconcile(action).state)

    def test_failed_health_check_compensates_and_keeps_source(self):
        server = self._boot('region-a')
        executor = self._executor(health=False)
        action = self._action(server)
        outcome = executor.execute(action)
        self.assertEqual(constants.ActionState.FAILED, outcome.state)
        self.assertIn('failed its health check', outcome.error)
        new_id = outcome.details['target_server']
        self.assertEqual([new_id], outcome.details['compensated']['servers'])
        self.assertTrue(relocation.is_gone(self.conns['region-b'], new_id))
        self._assert_unallocated(new_id)
        # Source untouched and still allocated; no image left anywhere.
        source = self.admin_api.get_server(server['id'])
        self.assertEqual('ACTIVE', source['status'])
        self.assertEqual(1, len(self._allocated_hosts(server['id'])))
        tag = relocation.action_tag(action.key)
        for conn in self.conns.values():
            self.assertEqual([], conn.image.images(tag=[tag]))
        self.assertEqual([], self.cut)
        self.assertEqual(constants.ActionState.FAILED,
                         executor.reconcile(action).state)


class ScaleTest(_TwoRegions):

    def _executor(self):
        return scale.CrossRegionScaleExecutor(
            self.conns, relocation.ResourceMapping(passthrough=True),
            sleep=self.sleeps.append, poll_interval=0.2)

    def _action(self, action_type, size, source=None, destination=None):
        return actions.PlannedAction(
            action_type, 'shop', resource_kind=constants.ResourceKind.APP,
            source=source, destination=destination,
            parameters={'size': size}).with_key('plan-%s-%d' % (
                action_type, size))

    def test_scale_out_then_in_across_regions(self):
        template = self._boot('region-a', metadata={'irra_app': 'shop',
                                                    'tier': 'front'})
        executor = self._executor()
        out = self._action(constants.ActionType.SCALE_OUT, 2,
                           destination='region-b')
        outcome = executor.execute(out)
        self.assertEqual(constants.ActionState.SUCCEEDED, outcome.state,
                         outcome.error)
        created = outcome.details['created']
        self.assertEqual(2, len(created))
        for server_id in created:
            server = self.admin_api.get_server(server_id)
            self.assertEqual('ACTIVE', server['status'])
            self.assertEqual('region-b',
                             server['OS-EXT-AZ:availability_zone'])
            self.assertEqual({'irra_app': 'shop', 'tier': 'front',
                              'irra_action_key': out.key},
                             server['metadata'])
            self.assertEqual(template['image']['id'], server['image']['id'])
            self.assertIn(self._allocated_hosts(server_id)[0],
                          REGIONS['region-b'])
        # Again: the group already has 2 servers in region-b.
        again = executor.execute(out)
        self.assertEqual(0, again.details['changed'])
        self.assertEqual(2, len(executor.members('region-b', 'shop')))
        self.assertEqual(1, len(executor.members('region-a', 'shop')))
        shrink = self._action(constants.ActionType.SCALE_IN, 1,
                              source='region-b')
        outcome = executor.execute(shrink)
        self.assertEqual(constants.ActionState.SUCCEEDED, outcome.state,
                         outcome.error)
        self.assertEqual(1, len(outcome.details['removed']))
        for server_id in outcome.details['removed']:
            self._assert_unallocated(server_id)
        self.assertEqual(1, len(executor.members('region-b', 'shop')))
        self.assertEqual(0, executor.execute(shrink).details['changed'])
        self.assertEqual(constants.ActionState.SUCCEEDED,
                         executor.reconcile(shrink).state)
