"""OpenStack Watcher's strategies in the replay, offline.

Needs ``python-watcher`` 17.0.0 (``pip install python-watcher==17.0.0``, an
optional bench extra). At each audit :class:`WatcherPolicy`:

1. builds Watcher's ``ModelRoot`` from the replay state: one
   ``ComputeNode`` per host (cores, RAM, CPU allocation ratio, enabled or
   disabled as Watcher left it) and one ``Instance`` per VM (vCPUs, RAM),
   mapped onto its host;
2. gives the strategy a datasource that serves, for each metric it asks
   for, the mean over the strategy's own ``period`` of the past ticks, in
   Watcher's units (instance CPU in % of its own vCPUs, instance RAM in
   MB, host CPU in % of its physical cores, host RAM in KiB). Every metric
   getter is overridden: a forgotten one would silently return None. The
   replay has no memory usage series, so a VM's RAM usage is its
   flavor's RAM, for Watcher as for every policy;
3. sets the strategy's ``input_parameters`` from the defaults of its
   ``get_schema()`` plus the overrides given, and calls ``execute()``;
4. returns its ``migrate`` actions as moves and its
   ``change_nova_service_state`` actions as host states, in order.

``workload_balance`` plans one migration per run by design: it is run
again on the planned state until it plans nothing (at most one run per
VM), and all those runs count as that audit's planning time.

When ``execute()`` raises (Watcher's own failure, e.g.
``vm_workload_consolidation``'s efficacy indicator failing its schema when
an audit enables more hosts than it frees), that audit fails as it would in
Watcher: it applies nothing. Watcher would then mark a continuous audit
FAILED and stop it; here the next audit runs, as if the operator had
started the audit again, so that one bad audit does not hide the
strategy's behaviour over a long trace. The result counts them in
``failed_audits`` and quotes the first one in ``first_failure``.
"""

import copy

import numpy as np
from oslo_log import log as logging

from irra_openstack.engine import replay

LOG = logging.getLogger(__name__)

INSTALL_HINT = 'pip install python-watcher==17.0.0'

#: Strategy name -> (module, class) in
#: ``watcher.decision_engine.strategy.strategies``.
STRATEGIES = {
    'workload_stabilization': ('workload_stabilization',
                               'WorkloadStabilization'),
    'vm_workload_consolidation': ('vm_workload_consolidation',
                                  'VMWorkloadConsolidation'),
    'workload_balance': ('workload_balance', 'WorkloadBalance'),
    'basic_consolidation': ('basic_consolidation', 'BasicConsolidation'),
}

#: Strategies that plan one migration per run.
ONE_PER_RUN = ('workload_balance',)


class WatcherMissing(replay.ReplayError):
    msg_fmt = ("OpenStack Watcher is not installed (%(reason)s); install "
               "the bench extra with: " + INSTALL_HINT)


def strategy_class(name):
    """Watcher's strategy class ``name``.

    :raises WatcherMissing: when python-watcher cannot be imported.
    :raises ReplayError: for a strategy this adapter does not know.
    """
    if name not in STRATEGIES:
        raise replay.ReplayError(
            reason="unknown Watcher strategy %r; known: %s"
            % (name, ', '.join(sorted(STRATEGIES))))
    module, cls = STRATEGIES[name]
    try:
        mod = _import('watcher.decision_engine.strategy.strategies.' +
                      module)
    except ImportError as exc:
        raise WatcherMissing(reason=str(exc))
    return getattr(mod, cls)


def _import(module):
    """Import a Watcher module with Watcher's options kept apart.

    Watcher registers its options on ``cfg.CONF`` when its modules are
    imported, and some (``[api] max_limit``) clash with irra's. Its
    modules bind ``CONF = cfg.CONF`` at import time, so the first import
    happens with a private ConfigOpts in place of the global one; the
    strategies then read their defaults from it. Offline, nothing parses
    it.
    """
    import importlib
    import sys

    from oslo_config import cfg

    if 'watcher.conf' in sys.modules:
        return importlib.import_module(module)
    saved = cfg.CONF
    cfg.CONF = cfg.ConfigOpts()
    try:
        return importlib.import_module(module)
    finally:
        cfg.CONF = saved


def _vm_uuid(i):
    return '00000000-0000-4000-8000-%012d' % i


def _host_uuid(i):
    return '00000000-0000-4000-9000-%012d' % i


def _datasource_class():
    ds_base = _import('watcher.decision_engine.datasources.base')

    class ReplayDataSource(ds_base.DataSourceBase):
        """Window means of the replay's past ticks, in Watcher's units."""

        NAME = 'irra_replay'
        METRIC_MAP = {m: m for m in (
            'host_cpu_usage', 'host_ram_usage', 'instance_cpu_usage',
            'instance_ram_usage', 'instance_ram_allocated',
            'instance_root_disk_size')}

        def __init__(self, view, model):
            # No super().__init__: it wants a cloud's clients and config.
            self.view = view
            self.model = model
            self._means = {}
            self._vm = {_vm_uuid(i): i for i in range(len(view.vm_ids))}
            self._host = {_host_uuid(i): i
                          for i in range(view.cluster.n_hosts)}

        def _mean(self, period):
            """(V,) mean vCPUs used over the last ``period`` seconds."""
            steps = max(1, int(round(float(period or self.view.step) /
                                     self.view.step)))
            if steps not in self._means:
                hist = self.view.history
                if hist.shape[1] == 0:
                    self._means[steps] = np.zeros(hist.shape[0])
                else:
                    self._means[steps] = hist[:, -steps:].mean(axis=1)
            return self._means[steps]

        def _node_vms(self, resource):
            return [self._vm[i.uuid]
                    for i in self.model.get_node_instances(resource)]

        def statistic_aggregation(self, resource=None, resource_type=None,
                                  meter_name=None, period=300,
                                  aggregate='mean', granularity=300):
            view = self.view
            if meter_name == 'instance_cpu_usage':
                i = self._vm[resource.uuid]
                return float(100.0 * self._mean(period)[i] / view.vcpus[i])
            if meter_name in ('instance_ram_usage',
                              'instance_ram_allocated'):
                return float(view.ram_mb[self._vm[resource.uuid]])
            if meter_name == 'instance_root_disk_size':
                return float(resource.disk)
            if meter_name == 'host_cpu_usage':
                vms = self._node_vms(resource)
                used = float(self._mean(period)[vms].sum()) if vms else 0.0
                return 100.0 * used / view.cluster.host_cpus
            if meter_name == 'host_ram_usage':
                vms = self._node_vms(resource)
                return float(np.asarray(view.ram_mb)[vms].sum() * 1024.0) \
                    if vms else 0.0
            # Temperatures, airflow, power, cache: the replay has none.
            return None

        def _get(self, meter, resource, period, aggregate, granularity):
            return self.statistic_aggregation(resource, None, meter, period,
                                              aggregate, granularity)

        def statistic_series(self, resource=None, resource_type=None,
                             meter_name=None, start_time=None,
                             end_time=None, granularity=300):
            return None

        def list_metrics(self):
            return set(self.METRIC_MAP)

        def check_availability(self):
            return 'available'

        def get_host_cpu_usage(self, resource, period=300,
                               aggregate='mean', granularity=None):
            return self._get('host_cpu_usage', resource, period, aggregate,
                             granularity)

        def get_host_ram_usage(self, resource, period=300,
                               aggregate='mean', granularity=None):
            return self._get('host_ram_usage', resource, period, aggregate,
                             granularity)

        def get_host_outlet_temp(self, resource, period=300,
                                 aggregate='mean', granularity=None):
            return None

        def get_host_inlet_temp(self, resource, period=300,
                                aggregate='mean', granularity=None):
            return None

        def get_host_airflow(self, resource, period=300, aggregate='mean',
                             granularity=None):
            return None

        def get_host_power(self, resource, period=300, aggregate='mean',
                           granularity=None):
            return None

        def get_instance_cpu_usage(self, resource, period=300,
                                   aggregate='mean', granularity=None):
            return self._get('instance_cpu_usage', resource, period,
                             aggregate, granularity)

        def get_instance_ram_usage(self, resource, period=300,
                                   aggregate='mean', granularity=None):
            return self._get('instance_ram_usage', resource, period,
                             aggregate, granularity)

        def get_instance_ram_allocated(self, resource, period=300,
                                       aggregate='mean', granularity=None):
            return self._get('instance_ram_allocated', resource, period,
                             aggregate, granularity)

        def get_instance_l3_cache_usage(self, resource, period=300,
                                        aggregate='mean', granularity=None):
            return None

        def get_instance_root_disk_size(self, resource, period=300,
                                        aggregate='mean', granularity=None):
            return self._get('instance_root_disk_size', resource, period,
                             aggregate, granularity)

    return ReplayDataSource


def build_model(view):
    """Watcher's ModelRoot of the replay state at an audit."""
    element = _import('watcher.decision_engine.model.element')
    model_root = _import('watcher.decision_engine.model.model_root')

    cluster = view.cluster
    model = model_root.ModelRoot()
    nodes = []
    for i in range(cluster.n_hosts):
        node = element.ComputeNode(
            uuid=_host_uuid(i), hostname=cluster.host_names[i],
            memory=int(cluster.host_ram_mb), memory_mb_reserved=0,
            disk=100000, disk_gb_reserved=0,
            vcpus=int(round(cluster.host_cpus)), vcpu_reserved=0,
            memory_ratio=1.0, vcpu_ratio=float(cluster.cpu_ratio),
            disk_ratio=1.0, state=element.ServiceState.ONLINE.value,
            status=(element.ServiceState.DISABLED.value
                    if view.disabled[i] else
                    element.ServiceState.ENABLED.value),
            disabled_reason=None)
        model.add_node(node)
        nodes.append(node)
    for v in range(len(view.vm_ids)):
        inst = element.Instance(
            uuid=_vm_uuid(v), name=str(view.vm_ids[v]),
            state=element.InstanceState.ACTIVE.value,
            memory=int(view.ram_mb[v]), disk=1,
            vcpus=int(round(view.vcpus[v])),
            project_id='00000000-0000-4000-a000-000000000000',
            locked=False, watcher_exclude=False, metadata={},
            flavor_extra_specs={})
        model.add_instance(inst)
        model.map_instance(inst, nodes[int(view.vm_host[v])])
    return model


class WatcherPolicy(replay.Policy):
    """``watcher:<strategy>``: one Watcher strategy, offline (module doc).

    :param strategy: a key of :data:`STRATEGIES`.
    :param overrides: input parameters to set over the schema defaults.
    """

    def __init__(self, strategy, audit_steps=1, overrides=None):
        super().__init__('watcher:%s' % strategy, audit_steps)
        self.strategy = strategy
        self.cls = strategy_class(strategy)
        self.overrides = dict(overrides or {})
        self.runs = 0
        #: Audits whose strategy raised, and the first one's message.
        self.failed_audits = 0
        self.first_failure = None
        self._ds_class = _datasource_class()

    def parameters(self):
        """Schema defaults plus the overrides, as Watcher takes them."""
        utils = _import('watcher.common.utils')

        params = {}
        for key, spec in self.cls.get_schema().get(
                'properties', {}).items():
            if 'default' in spec:
                params[key] = copy.deepcopy(spec['default'])
        params.update(copy.deepcopy(self.overrides))
        return utils.Struct(params)

    def _run_once(self, model, view):
        utils = _import('watcher.common.utils')

        strategy = self.cls(config=utils.Struct(datasources=None))
        strategy.input_parameters = self.parameters()
        strategy._compute_model = model
        strategy._datasource_backend = self._ds_class(view, model)
        self.runs += 1
        try:
            return list(strategy.execute().actions)
        except Exception as exc:
            # Watcher's own failure: this audit applies nothing (see the
            # module doc).
            why = ("Watcher's %s failed at tick %d: %s: %s"
                   % (self.strategy, view.tick, type(exc).__name__,
                      str(exc).splitlines()[0] if str(exc) else ''))
            self.failed_audits += 1
            if self.first_failure is None:
                self.first_failure = why
            LOG.warning('%s; the audit applies nothing', why)
            return None

    def plan(self, view):
        model = build_model(view)
        actions = self._run_once(model, view)
        if actions is None:
            return replay.Decision()
        if self.strategy in ONE_PER_RUN:
            # Each run is an audit of its own: a failed one ends the
            # series, and the runs before it stand.
            for _ in range(len(view.vm_ids)):
                if not any(a['action_type'] == 'migrate'
                           for a in actions[-1:]):
                    break
                more = self._run_once(model, view)
                if not more or not any(a['action_type'] == 'migrate'
                                       for a in more):
                    break
                actions.extend(more)
        return self.decision(actions, view)

    def report(self):
        return {'failed_audits': self.failed_audits,
                'first_failure': self.first_failure}

    def decision(self, actions, view):
        """A replay Decision from Watcher's solution actions, in order."""
        vms = {_vm_uuid(i): i for i in range(len(view.vm_ids))}
        hosts = {}
        for i, name in enumerate(view.cluster.host_names):
            hosts[name] = hosts[_host_uuid(i)] = i
        out = replay.Decision()
        for action in actions:
            kind = action['action_type']
            params = action.get('input_parameters', {})
            resource = params.get('resource_id', action.get('resource_id'))
            if kind == 'migrate':
                out.moves.append((vms[resource],
                                  hosts[params['destination_node']]))
            elif kind == 'change_nova_service_state':
                host = hosts.get(resource,
                                 hosts.get(params.get('resource_name')))
                if host is None:
                    continue
                if params.get('state') == 'disabled':
                    out.disable.append(host)
                else:
                    out.enable.append(host)
            else:
                LOG.debug('%s: ignoring a %s action', self.name, kind)
        return out
