"""Compute-node inventory read from a real Placement over HTTP.

Placement (openstack-placement under uWSGI, sqlite, noauth2) is loaded the
way nova-compute loads it: resource providers and their inventories, and
an allocation. irra's inventory reads them back through an openstacksdk
Connection with keystoneauth's admin_token. Nova's API cannot run here
(no Keystone, no hypervisor), so the server listing is tested on
Nova-shaped bodies in tests/unit/datasources.
"""

import uuid

from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint

from irra_openstack.datasources import inventory
from irra_openstack.datasources import servers
from tests import base


class PlacementInventoryTest(base.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.placement = servers.PlacementServer()
        cls.addClassCleanup(cls.placement.stop)
        cls.placement.start()

    def _session(self):
        return ks_session.Session(auth=token_endpoint.Token(
            self.placement.url, 'admin'))

    def _call(self, sess, method, path, body=None):
        r = sess.request(self.placement.url + path, method, json=body,
                         headers={'OpenStack-API-Version':
                                  'placement 1.28'}, raise_exc=False)
        self.assertLess(r.status_code, 300, r.text)
        return r.json() if r.content else None

    def test_capacity_ratios_and_usage(self):
        sess = self._session()
        rps = {}
        for name, vcpu, ratio in (('cmp1', 16, 4.0), ('cmp2', 32, 1.0)):
            rp = str(uuid.uuid4())
            self._call(sess, 'POST', '/resource_providers',
                       {'name': name, 'uuid': rp})
            self._call(sess, 'PUT', '/resource_providers/%s/inventories'
                       % rp, {'resource_provider_generation': 0,
                              'inventories': {
                                  'VCPU': {'total': vcpu, 'reserved': 2,
                                           'allocation_ratio': ratio},
                                  'MEMORY_MB': {'total': 65536,
                                                'reserved': 512,
                                                'allocation_ratio': 1.5}}})
            rps[name] = rp
        consumer = str(uuid.uuid4())
        self._call(sess, 'PUT', '/allocations/%s' % consumer, {
            'allocations': {rps['cmp1']: {
                'resources': {'VCPU': 4, 'MEMORY_MB': 2048}}},
            'project_id': str(uuid.uuid4()), 'user_id': str(uuid.uuid4()),
            'consumer_generation': None})

        import openstack
        conn = openstack.connection.Connection(
            session=sess, placement_endpoint_override=self.placement.url)
        nodes = {n.name: n for n in inventory.placement_nodes(
            conn.placement)}
        self.assertEqual({'cmp1', 'cmp2'}, set(nodes))
        c1 = nodes['cmp1']
        self.assertEqual(rps['cmp1'], c1.uuid)
        self.assertEqual(56.0, c1.capacity['VCPU']['usable'])  # (16-2)*4
        self.assertEqual(4.0, c1.capacity['VCPU']['allocation_ratio'])
        self.assertEqual((65536 - 512) * 1.5,
                         c1.capacity['MEMORY_MB']['usable'])
        self.assertEqual({'VCPU': 4, 'MEMORY_MB': 2048}, c1.used)
        self.assertEqual(30.0, nodes['cmp2'].capacity['VCPU']['usable'])
        self.assertEqual({'VCPU': 0, 'MEMORY_MB': 0}, nodes['cmp2'].used)
