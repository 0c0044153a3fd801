"""The functional environment of the fault campaign: Nova's harness.

:class:`FaultEnvironment` is a ``ProviderUsageBaseTestCase`` from the
``nova`` wheel's test package: Nova's API, conductor, scheduler and
computes run in this process with the fake virt driver as the hypervisor,
and Placement runs in process too (its real WSGI application, behind
Nova's in-process HTTP interception). It is used both by the functional
test of the campaign and by ``irra-manage bench faults``, which runs it
outside a test runner (:func:`start` calls ``setUp`` and returns a stop
function).

Importing this module imports Nova's test package, which patches the
process (``nova.monkey_patch``): import it only from a process that runs
nothing else, after :func:`check_usable`.

What is real and what stands in:

- the executors talk to Nova through a real openstacksdk ``Connection``
  (:meth:`FaultEnvironment.sdk`) and to Placement through a real
  keystoneauth adapter (:meth:`FaultEnvironment.placement_adapter`);
- failures are injected in the fake virt driver, where a real hypervisor
  fails: a live migration that ends in error (the driver calls Nova's
  rollback, as libvirt's driver does when its job fails) or that hangs
  until Nova asks the driver to abort it;
- a host is taken down through Nova's API (``forced_down``), the signal an
  operator or a fencing monitor gives.
"""

import os
import sys
import threading

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session

os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')

import fixtures  # noqa: E402
import nova.monkey_patch  # noqa: E402

nova.monkey_patch.patch()

from nova.tests.functional import integrated_helpers  # noqa: E402
import openstack.connection  # noqa: E402

#: How long a hung migration waits for an abort before it completes after
#: all (so that nothing hangs forever if the abort never comes), by
#: default.
HANG_LIMIT = 20.0


class DriverFaults:
    """Failures the fake virt driver applies to chosen live migrations.

    ``plan(server_uuid, kind, count)`` makes the next ``count`` live
    migrations of that server fail with ``kind``: ``error`` (the driver
    reports a failed job) or ``hang`` (the job runs until aborted).
    """

    def __init__(self, hang_limit=HANG_LIMIT):
        self.hang_limit = hang_limit
        self._lock = threading.Lock()
        self._planned = {}
        self._aborts = {}
        #: Live migrations the driver ran, by server: (kind, outcome).
        self.runs = {}

    def plan(self, server_uuid, kind, count=1):
        if kind not in ('error', 'hang'):
            raise ValueError('unknown driver fault %r' % kind)
        with self._lock:
            self._planned.setdefault(server_uuid, []).extend([kind] * count)

    def clear(self):
        with self._lock:
            self._planned.clear()

    def _next(self, server_uuid):
        with self._lock:
            queue = self._planned.get(server_uuid)
            return queue.pop(0) if queue else None

    def live_migration(self, driver, context, instance, dest, post_method,
                       recover_method, block_migration=False,
                       migrate_data=None):
        kind = self._next(instance.uuid)
        runs = self.runs.setdefault(instance.uuid, [])
        if kind == 'error':
            runs.append(('error', 'failed'))
            recover_method(context, instance, dest, migrate_data,
                           migration_status='error')
            return
        if kind == 'hang':
            event = threading.Event()
            with self._lock:
                self._aborts[instance.uuid] = event
            aborted = event.wait(self.hang_limit)
            with self._lock:
                self._aborts.pop(instance.uuid, None)
            if aborted:
                runs.append(('hang', 'aborted'))
                recover_method(context, instance, dest, migrate_data,
                               migration_status='cancelled')
                return
            runs.append(('hang', 'completed late'))
        else:
            runs.append((None, 'completed'))
        post_method(context, instance, dest, block_migration, migrate_data)

    def live_migration_abort(self, driver, instance):
        with self._lock:
            event = self._aborts.get(instance.uuid)
        if event is not None:
            event.set()


class FaultEnvironment(integrated_helpers.ProviderUsageBaseTestCase):
    """Nova and Placement with ``hosts`` fake computes, ready for faults."""

    compute_driver = 'fake.MediumFakeDriver'
    # Real asynchronous casts: a hung migration must not block the API.
    CAST_AS_CALL = False
    #: Hosts started by setUp.
    hosts = ('host1', 'host2', 'host3', 'host4')

    def __init__(self, *args, hosts=None, **kwargs):
        super().__init__(*args, **kwargs)
        if hosts is not None:
            self.hosts = tuple(hosts)

    def setUp(self):
        self.flags(api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'), group='wsgi')
        super().setUp()
        self.faults = DriverFaults()
        faults = self.faults

        def live_migration(driver, *args, **kwargs):
            return faults.live_migration(driver, *args, **kwargs)

        def live_migration_abort(driver, instance):
            return faults.live_migration_abort(driver, instance)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.fake.FakeDriver.live_migration', live_migration))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.fake.FakeDriver.live_migration_abort',
            live_migration_abort))
        self.computes = {host: self._start_compute(host)
                         for host in self.hosts}
        self.rps = {host: self._get_provider_uuid_by_host(host)
                    for host in self.hosts}
        flavor_id = self._create_flavor(name='irra.fault', vcpu=1,
                                        memory_mb=256, disk=1)
        self.flavor = self.api.get_flavor(flavor_id)

    def runTest(self):
        """Unused: the environment is driven by its caller."""

    def _clear_attrs(self):
        # Keep the attributes: the caller reads them after cleanup too.
        pass

    # -- clients of the real services ------------------------------------

    def sdk(self):
        """An openstacksdk Connection to this Nova, as the admin."""
        session = ks_session.Session(auth=noauth.NoAuth(
            endpoint=self.admin_api.base_url), additional_headers={
            'X-Auth-User': 'admin',
            'X-Auth-Project-Id': self.admin_api.project_id,
            'X-Roles': 'admin,member,reader'})
        return openstack.connection.Connection(
            session=session, compute_endpoint_override=self.admin_api.base_url,
            compute_api_version='2')

    def placement_adapter(self):
        """A keystoneauth Adapter for this Placement (noauth2, admin)."""
        session = ks_session.Session(
            additional_headers={'x-auth-token': 'admin'})
        return ks_adapter.Adapter(
            session, service_type='placement', raise_exc=False,
            endpoint_override=self.placement.fixture.endpoint)

    # -- the cloud's state -------------------------------------------------

    def boot(self, count, host=None):
        """Boot ``count`` servers (ACTIVE), spread by the scheduler."""
        servers = []
        for _ in range(count):
            body = self._build_server(flavor_id=self.flavor['id'],
                                      networks='none', host=host)
            servers.append(self.api.post_server({'server': body}))
        return [self._wait_for_state_change(s, 'ACTIVE') for s in servers]

    def servers(self):
        """{server id: server} of every server that is not deleted."""
        return {s['id']: s for s in self.admin_api.get_servers(
            detail=True, search_opts={'all_tenants': '1'})}

    def allocations(self):
        """{consumer: {provider: resources}} over every provider."""
        result = {}
        for host, rp in self.rps.items():
            allocs = self.placement.get(
                '/resource_providers/%s/allocations' % rp).body[
                    'allocations']
            for consumer, alloc in allocs.items():
                result.setdefault(consumer, {})[rp] = alloc['resources']
        return result

    def set_host_down(self, host, down):
        """Force the nova-compute service of ``host`` down, or back up."""
        service = self.admin_api.get_services(binary='nova-compute',
                                              host=host)[0]
        previous = self.admin_api.microversion
        self.admin_api.microversion = '2.53'
        try:
            self.admin_api.put_service(service['id'],
                                       {'forced_down': down})
        finally:
            self.admin_api.microversion = previous

    def host_of(self, server_id):
        return self.admin_api.get_server(server_id)['OS-EXT-SRV-ATTR:host']


def check_usable():
    """None if Nova's harness can run in this process, else why not."""
    if os.environ.get('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1').lower() in (
            '1', 'true', 'yes') and 'eventlet' in sys.modules and \
            'nova.monkey_patch' not in sys.modules:
        return ("Nova's native-thread mode cannot start in a process that "
                "has already imported eventlet")
    return None


def start(hosts=None):
    """Start an environment outside a test runner.

    :returns: (environment, stop): call ``stop()`` to shut it down.
    """
    env = FaultEnvironment('runTest', hosts=hosts)
    env.setUp()

    def stop():
        env.doCleanups()
    return env, stop
