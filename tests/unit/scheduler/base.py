"""Helpers of the scheduler plugin's unit tests: real Nova objects."""

import datetime
import os

import fixtures
from nova import conf as nova_conf
from nova import objects
from nova.scheduler import host_manager
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslo_db import options as db_options
from oslo_utils import timeutils
from oslotest import base
import sqlalchemy as sa

from irra_openstack.db import api as db_api
from irra_openstack.db import headroom_api
from irra_openstack.db import migration
from irra_openstack.scheduler import filters
from irra_openstack.scheduler import snapshot
from irra_openstack.scheduler import weighers

objects.register_all()
CONF = nova_conf.CONF
RCS = ('VCPU', 'MEMORY_MB', 'DISK_GB')
CELL = '4b1c2c4e-0a3c-4f3e-9d35-8e0b6d0c7e11'


def host_state(name, uuid, vcpus=10, vcpus_used=0, memory_mb=8192,
               memory_used=512, local_gb=100, local_gb_used=0,
               aggregates=()):
    """A real HostState, filled from a ComputeNode as the host manager does."""
    now = datetime.datetime.now(datetime.timezone.utc)
    compute = objects.ComputeNode(
        id=1, uuid=uuid, host=name, hypervisor_hostname=name,
        hypervisor_type='QEMU', hypervisor_version=8002000,
        host_ip='192.0.2.1', cpu_info='{}', vcpus=vcpus,
        vcpus_used=vcpus_used, memory_mb=memory_mb,
        memory_mb_used=memory_used, free_ram_mb=memory_mb - memory_used,
        local_gb=local_gb, local_gb_used=local_gb_used,
        free_disk_gb=local_gb - local_gb_used,
        disk_available_least=local_gb - local_gb_used, running_vms=0,
        current_workload=0, supported_hv_specs=[], stats={}, metrics='[]',
        numa_topology=None, pci_device_pools=None, cpu_allocation_ratio=1.0,
        ram_allocation_ratio=1.0, disk_allocation_ratio=1.0, updated_at=now)
    state = host_manager.HostState(name, name, CELL)
    state.update(compute=compute, aggregates=list(aggregates), inst_dict={})
    return state


def aggregate(ident, **metadata):
    return objects.Aggregate(id=ident, uuid='%08d-0000-0000-0000-000000000000'
                             % ident, name='agg%d' % ident, hosts=[],
                             metadata={k: str(v) for k, v in
                                       metadata.items()})


def request_spec(vcpus=2, memory_mb=512, root_gb=1, name='m1.test',
                 project_id='project-a', hints=None, rebuild=False):
    flavor = objects.Flavor(
        id=1, flavorid=name, name=name, vcpus=vcpus, memory_mb=memory_mb,
        root_gb=root_gb, ephemeral_gb=0, swap=0, extra_specs={})
    spec = objects.RequestSpec(
        instance_uuid='9d0b3c0c-6d6b-4a77-9e4f-1a3c5d0f0a01',
        project_id=project_id, flavor=flavor, num_instances=1,
        scheduler_hints={k: [v] if isinstance(v, str) else v
                         for k, v in (hints or {}).items()},
        is_bfv=False, ignore_hosts=None, force_hosts=None,
        force_nodes=None)
    if rebuild:
        spec.scheduler_hints['_nova_check_type'] = ['rebuild']
    return spec


def snapshot_host(name, uuid, vcpu=0.0, total_vcpu=10, memory=0.0,
                  used=None, reservations=None):
    """A snapshot entry of a 10-VCPU, 8 GiB (512 MiB reserved) host."""
    host = {
        'hostname': name, 'uuid': uuid,
        'predicted': {'VCPU': vcpu, 'MEMORY_MB': memory, 'DISK_GB': 0.0},
        'capacity': {
            'VCPU': {'total': total_vcpu, 'reserved': 0,
                     'allocation_ratio': 1.0},
            'MEMORY_MB': {'total': 8192, 'reserved': 512,
                          'allocation_ratio': 1.0},
            'DISK_GB': {'total': 100, 'reserved': 0,
                        'allocation_ratio': 1.0}},
        'reservations': reservations,
    }
    if used is not None:
        host['used'] = used
    return host


class SchedulerTestCase(base.BaseTestCase):
    """A migrated irra database on sqlite and Nova's CONF pointing at it."""

    def setUp(self):
        super().setUp()
        self.conf_fixture = self.useFixture(config_fixture.Config(CONF))
        tmp = self.useFixture(fixtures.TempDir()).path
        self.url = 'sqlite:///%s' % os.path.join(tmp, 'irra.sqlite')
        irra = cfg.ConfigOpts()
        db_options.set_defaults(irra)
        irra([], project='irra', default_config_files=[])
        irra.set_override('connection', self.url, group='database')
        db_api.configure(irra)
        self.addCleanup(db_api.dispose)
        migration.upgrade()
        self.flags(connection=self.url, group='irra_scheduler')
        snapshot.reset_loaders()
        self.addCleanup(snapshot.reset_loaders)
        self.filter = filters.PredictiveHeadroomFilter()
        self.weigher = weighers.PredictiveHeadroomWeigher()
        self.loader = snapshot.get_loader(CONF)
        self.loader.refresh()

    def flags(self, group=None, **kw):
        for name, value in kw.items():
            self.conf_fixture.config(group=group, **{name: value})

    def publish(self, hosts, age=0, expected=None, refresh=True):
        created_at = timeutils.utcnow() - datetime.timedelta(seconds=age)
        generation = headroom_api.write_snapshot(
            hosts, RCS, expected_utilisation=expected, created_at=created_at)
        if refresh:
            loaded = self.loader.refresh()
            self.assertIsNotNone(loaded)
            self.assertEqual(generation, loaded.generation)
        return generation

    def passing(self, states, spec):
        return [s.nodename for s in self.filter.filter_all(states, spec)]

    def weights(self, states, spec):
        from nova.scheduler import weights
        return self.weigher.weigh_objects(
            [weights.WeighedHost(s, 0.0) for s in states], spec)

    def count_queries(self):
        """A list that grows by one per SQL statement the loader runs."""
        statements = []
        engine = self.loader._get_engine(CONF.irra_scheduler.connection)

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(engine, 'before_cursor_execute', count)
        self.addCleanup(sa.event.remove, engine, 'before_cursor_execute',
                        count)
        return statements
