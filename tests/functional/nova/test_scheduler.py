"""PredictiveHeadroomFilter and PredictiveHeadroomWeigher in Nova's scheduler.

Three compute services with Nova's fake virt driver (10 VCPUs, 8 GiB, with
the CPU allocation ratio set to 1.0 so that the numbers read simply: a
host's VCPU capacity is 10, and with the default limit 0.9 its predicted
usage plus the request may reach 9). Each scenario publishes a headroom
snapshot to a real irra database (a sqlite file of the test) the way the
engine does, from the inventories and usages that Placement reports plus
the predictions of the scenario, and then lets the scheduler's loader read
it, which it does every [irra_scheduler] refresh_interval in production.
Each scenario checks the host chosen and the allocations in Placement.
"""

import datetime
import os
import sys

import fixtures
from nova import conf as nova_conf
from nova.tests.functional import integrated_helpers
from oslo_config import cfg
from oslo_db import options as db_options
from oslo_utils import timeutils

from irra_openstack.db import api as db_api
from irra_openstack.db import headroom_api
from irra_openstack.db import migration
from irra_openstack.scheduler import filters as irra_filters  # noqa: F401
from irra_openstack.scheduler import snapshot

CONF = nova_conf.CONF

FILTER = 'irra_openstack.scheduler.filters.PredictiveHeadroomFilter'
WEIGHER = 'irra_openstack.scheduler.weighers.PredictiveHeadroomWeigher'
HOSTS = ('host1', 'host2', 'host3')
RCS = ('VCPU', 'MEMORY_MB', 'DISK_GB')


class PredictiveHeadroomTest(integrated_helpers.ProviderUsageBaseTestCase):
    """The eight scenarios of the scheduler plugin."""

    compute_driver = 'fake.MediumFakeDriver'

    def setUp(self):
        # Nova reads these when the scheduler service starts, in
        # super().setUp(): they must be set before it.
        self.flags(available_filters=['nova.scheduler.filters.all_filters',
                                      FILTER],
                   group='filter_scheduler')
        self.flags(enabled_filters=(
            list(CONF.filter_scheduler.enabled_filters) +
            ['PredictiveHeadroomFilter']), group='filter_scheduler')
        self.flags(weight_classes=['nova.scheduler.weights.all_weighers',
                                   WEIGHER], group='filter_scheduler')
        self.flags(api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'), group='wsgi')
        self.flags(cpu_allocation_ratio=1.0, ram_allocation_ratio=1.0,
                   disk_allocation_ratio=1.0)
        tmp = self.useFixture(fixtures.TempDir()).path
        self.irra_url = 'sqlite:///%s/irra.sqlite' % tmp
        self._irra_database(self.irra_url)
        # Nova's other weighers have multipliers of 1 or less; 10 lets the
        # prediction decide, as an operator who wants it to would set.
        self.flags(connection=self.irra_url, weight_multiplier=10.0,
                   group='irra_scheduler')
        self.addCleanup(snapshot.reset_loaders)
        super().setUp()
        self.computes = {host: self._start_compute(host) for host in HOSTS}
        self.rps = {host: self._get_provider_uuid_by_host(host)
                    for host in HOSTS}
        self.flavor = self._flavor('irra.f2', vcpu=2)
        self.loader = snapshot.get_loader(CONF)

    def _clear_attrs(self):
        # Nova's TestCase deletes the test's attributes at cleanup, the
        # test method's included, which pytest still needs; keep them.
        pass

    @staticmethod
    def _irra_database(url):
        # Only oslo.db's options: irra_openstack.conf would register irra's
        # groups on the global CONF, which is Nova's here.
        conf = cfg.ConfigOpts()
        db_options.set_defaults(conf)
        conf([], project='irra', default_config_files=[])
        conf.set_override('connection', url, group='database')
        db_api.configure(conf)
        migration.upgrade()

    def _flavor(self, name, vcpu, memory_mb=512, disk=1):
        flavor_id = self._create_flavor(name=name, vcpu=vcpu,
                                        memory_mb=memory_mb, disk=disk,
                                        ephemeral=0)
        return self.api.get_flavor(flavor_id)

    def _publish(self, vcpu=None, reservations=None, age=0, expected=None):
        """Write a snapshot and let the scheduler's loader read it.

        :param vcpu: {host: predicted peak of VCPU}; memory and disk are
            predicted at their current usage.
        :param reservations: {host: {reservation id: VCPUs held}}.
        :param age: seconds since the snapshot's creation.
        """
        vcpu = vcpu or {}
        reservations = reservations or {}
        hosts = []
        for host in HOSTS:
            rp = self.rps[host]
            inventories = self.placement.get(
                '/resource_providers/%s/inventories' % rp).body[
                    'inventories']
            usages = self._get_provider_usages(rp)
            predicted = {rc: float(usages.get(rc, 0)) for rc in RCS}
            predicted['VCPU'] = float(vcpu.get(host, usages['VCPU']))
            hosts.append({
                'hostname': host, 'uuid': rp, 'predicted': predicted,
                'capacity': {rc: {k: inventories[rc][k] for k in
                                  ('total', 'reserved', 'allocation_ratio')}
                             for rc in RCS},
                'used': {rc: usages.get(rc, 0) for rc in RCS},
                'reservations': {rid: {'VCPU': amount} for rid, amount in
                                 reservations.get(host, {}).items()},
            })
        created_at = timeutils.utcnow() - datetime.timedelta(seconds=age)
        generation = headroom_api.write_snapshot(
            hosts, RCS, expected_utilisation=expected, horizon=3600,
            created_at=created_at)
        # What the background refresh does once per refresh_interval.
        loaded = self.loader.refresh()
        self.assertEqual(generation, loaded.generation)
        return generation

    def _boot(self, flavor=None, expected_state='ACTIVE', hints=None,
              host=None, **kwargs):
        flavor = flavor or self.flavor
        server = self._build_server(flavor_id=flavor['id'], networks='none',
                                    host=host)
        server.update(kwargs)
        body = {'server': server}
        if hints:
            body['os:scheduler_hints'] = hints
        created = self.api.post_server(body)
        return self._wait_for_state_change(created, expected_state)

    def _host_of(self, server):
        return server['OS-EXT-SRV-ATTR:host']

    def assertOnHost(self, server, host, flavor=None):
        """The server is on ``host`` and its allocation is there only."""
        self.assertEqual(host, self._host_of(server))
        self.assertFlavorMatchesAllocation(flavor or self.flavor,
                                           server['id'], self.rps[host])
        allocations = self._get_allocations_by_server_uuid(server['id'])
        self.assertEqual({self.rps[host]}, set(allocations))

    def assertVcpuUsage(self, expected):
        self.assertEqual(
            expected,
            {host: self._get_provider_usages(self.rps[host])['VCPU']
             for host in HOSTS})

    def test_irra_options_stay_out_of_nova(self):
        # Loading the plugin registered [irra_scheduler] on Nova's CONF
        # and nothing else of irra's: no irra group, and Nova's own [api]
        # has none of irra-api's options.
        self.assertEqual(10.0, CONF.irra_scheduler.weight_multiplier)
        for group in ('forecast', 'forecast_learning', 'traces',
                      'datasources', 'anomaly_detectors.residual'):
            self.assertNotIn(group, CONF)
        self.assertNotIn('default_limit', CONF.api)

    def test_boot_goes_to_most_predicted_headroom_not_most_free_ram(self):
        filler = self._flavor('irra.filler', vcpu=1, memory_mb=2048)
        for host in ('host2', 'host3'):
            self._boot(filler, host=host)
        usages = {h: self._get_provider_usages(self.rps[h])['MEMORY_MB']
                  for h in HOSTS}
        # host1 has the most free RAM now...
        self.assertEqual({'host1': 0, 'host2': 2048, 'host3': 2048}, usages)
        # ...but the most predicted headroom is on host2.
        self._publish(vcpu={'host1': 6.0, 'host2': 2.0, 'host3': 4.0})
        server = self._boot()
        self.assertOnHost(server, 'host2')
        self.assertVcpuUsage({'host1': 0, 'host2': 3, 'host3': 1})

    def test_host_predicted_to_overload_is_rejected(self):
        # host1 is empty now, but predicted at 8 VCPUs: 8 + 2 > 9.
        self._publish(vcpu={'host1': 8.0, 'host2': 1.0, 'host3': 1.0})
        self.assertVcpuUsage({'host1': 0, 'host2': 0, 'host3': 0})
        failed = self._boot(host='host1', expected_state='ERROR')
        self.assertIn('No valid host', failed['fault']['message'])
        self.assertEqual({}, self._get_allocations_by_server_uuid(
            failed['id']))
        # With a lower prediction the same request fits on host1.
        self._publish(vcpu={'host1': 7.0, 'host2': 1.0, 'host3': 1.0})
        server = self._boot(host='host1')
        self.assertOnHost(server, 'host1')
        self.assertVcpuUsage({'host1': 2, 'host2': 0, 'host3': 0})

    def test_multi_create_spreads_by_predicted_headroom(self):
        # Room for 1 instance on host1 (6.5 + 2 <= 9), 2 on host2
        # (4 + 2 + 2 <= 9), none on host3 (8 + 2 > 9).
        self._publish(vcpu={'host1': 6.5, 'host2': 4.0, 'host3': 8.0})
        server = self._build_server(flavor_id=self.flavor['id'],
                                    networks='none')
        server.update(min_count=3, max_count=3, return_reservation_id=True)
        reservation = self.api.post_server({'server': server})[
            'reservation_id']
        servers = self.api.get_servers(
            detail=True, search_opts={'reservation_id': reservation})
        self.assertEqual(3, len(servers))
        placed = {}
        for server in servers:
            server = self._wait_for_state_change(server, 'ACTIVE')
            host = self._host_of(server)
            placed[host] = placed.get(host, 0) + 1
            self.assertOnHost(server, host)
        self.assertEqual({'host1': 1, 'host2': 2}, placed)
        self.assertVcpuUsage({'host1': 2, 'host2': 4, 'host3': 0})

    def test_live_migration_without_host_follows_prediction(self):
        self._publish()
        server = self._boot(host='host1')
        self.assertOnHost(server, 'host1')
        # host2 is predicted to overload; host3 has room.
        self._publish(vcpu={'host1': 2.0, 'host2': 8.0, 'host3': 3.0})
        server = self._live_migrate(server, 'completed', host=None)
        self.assertOnHost(server, 'host3')
        self.assertVcpuUsage({'host1': 0, 'host2': 0, 'host3': 2})

    def test_resize_follows_prediction(self):
        self._publish()
        server = self._boot(host='host1')
        self.assertOnHost(server, 'host1')
        bigger = self._flavor('irra.f4', vcpu=4)
        # host2: 6 + 4 > 9; host3: 2 + 4 <= 9.
        self._publish(vcpu={'host1': 2.0, 'host2': 6.0, 'host3': 2.0})
        self._resize_server(server, bigger['id'])
        server = self._wait_for_state_change(server, 'VERIFY_RESIZE')
        self.assertEqual('host3', self._host_of(server))
        self._confirm_resize(server)
        server = self.api.get_server(server['id'])
        self.assertOnHost(server, 'host3', bigger)
        self.assertVcpuUsage({'host1': 0, 'host2': 0, 'host3': 4})

    def test_reservation_hint_uses_its_own_capacity_only(self):
        # res-a holds 8 VCPUs on host1, res-b 2 on host3.
        self._publish(vcpu={'host1': 0.0, 'host2': 4.0, 'host3': 5.5},
                      reservations={'host1': {'res-a': 8},
                                    'host3': {'res-b': 2}})
        # Without a hint, capacity reserved for others is protected:
        # host1 0 + 8 + 2 > 9, host3 5.5 + 2 + 2 > 9.
        first = self._boot()
        self.assertOnHost(first, 'host2')
        # The holder of res-a may use its capacity on host1.
        second = self._boot(hints={'irra_reservation': 'res-a'})
        self.assertOnHost(second, 'host1')
        # res-b's holder may use res-b on host3, not res-a on host1 (0 + 8
        # held by res-a + 2 placed + 2 > 9); host2 (4 + 2 + 2) has less
        # room than host3 (5.5 + 2).
        third = self._boot(hints={'irra_reservation': 'res-b'})
        self.assertOnHost(third, 'host3')
        self.assertVcpuUsage({'host1': 2, 'host2': 2, 'host3': 2})

    def test_missing_or_stale_snapshot_fails_open(self):
        log = self.stdlog.logger
        # No snapshot in irra's database at all.
        self.assertIsNone(self.loader.refresh())
        first = self._boot(host='host1')
        self.assertOnHost(first, 'host1')
        # A snapshot two hours old that says every host is overloaded.
        self._publish(vcpu={h: 10.0 for h in HOSTS}, age=7200)
        servers = [self._boot(host=host) for host in HOSTS]
        for server, host in zip(servers, HOSTS):
            self.assertOnHost(server, host)
        self.assertVcpuUsage({'host1': 4, 'host2': 2, 'host3': 2})
        # Warned at most once per refresh interval (60 s here).
        self.assertEqual(1, log.output.count('fail-open'))

    def test_aggregate_override_changes_decision(self):
        # Default limit 0.9: host1 (5 + 2) passes, host2 (8 + 2) and host3
        # (7.5 + 2) do not.
        self._publish(vcpu={'host1': 5.0, 'host2': 8.0, 'host3': 7.5})
        control = self._boot()
        self.assertOnHost(control, 'host1')
        self._delete_server(control)
        self.assertVcpuUsage({'host1': 0, 'host2': 0, 'host3': 0})
        strict = self._create_aggregate('irra-strict')
        self.admin_api.add_host_to_aggregate(strict, 'host1')
        self.admin_api.post_aggregate_action(strict, {'set_metadata': {
            'metadata': {'irra_max_predicted_utilisation': '0.6'}}})
        loose = self._create_aggregate('irra-loose')
        self.admin_api.add_host_to_aggregate(loose, 'host3')
        self.admin_api.post_aggregate_action(loose, {'set_metadata': {
            'metadata': {'irra_max_predicted_utilisation': '1.0'}}})
        server = self._boot()
        self.assertOnHost(server, 'host3')
        self.assertVcpuUsage({'host1': 0, 'host2': 0, 'host3': 2})
