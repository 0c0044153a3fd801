"""The planning cycle: collect, forecast, plan, schedule, persist.

One :class:`PlanningCycle` plans one region. It is built from explicit
collaborators and reaches for nothing else:

- a datasource (``irra.datasources`` plugin): the recent metrics of the
  region's VMs, in one batched fetch;
- an inventory source: the region's servers and compute nodes (an
  :class:`~irra_openstack.datasources.inventory.Inventory`, or a callable
  that returns one for the region);
- a forecaster (``irra.forecasters`` plugin), with calibrated intervals;
- a host rebalancer (``irra.optimizers``; an object with ``plan(model)``,
  or a plugin name, loaded only when the cycle first runs);
- a wave scheduler (``irra.schedulers``; an object or a plugin name);
- optionally the region LP and a function that turns the model and the
  forecasts into its problem;
- the plan database API (:mod:`irra_openstack.db.plan_api`), or None to
  keep the plan in memory only.

:meth:`PlanningCycle.run` then:

1. fetches ``history`` seconds of CPU and memory metrics up to ``now``;
2. forecasts every VM's CPU and memory use (point and interval), all VMs
   of a metric in one call;
3. builds the :class:`~irra_openstack.optimizer.model.ClusterModel`: hosts
   from the compute nodes' Placement inventories, VMs from the servers,
   their predicted usage as arrays (V, T, R) -- a VM without a usable
   forecast is assumed to use its whole flavor, and the summary counts
   them;
4. asks the rebalancer for migrations, completes every action's reason
   (forecast numbers and interval, constraint, benefit; see
   :mod:`irra_openstack.optimizer.explain`), salts the idempotency keys
   with the new plan's UUID, and puts the migrations into waves;
5. stores one plan with its actions, in one transaction.
"""

import dataclasses
import time

import numpy as np
from oslo_log import log as logging
from oslo_utils import uuidutils

from irra_openstack.db import constants
from irra_openstack import exception
from irra_openstack.optimizer import actions as actions_mod
from irra_openstack.optimizer import explain
from irra_openstack.optimizer import model as model_mod
from irra_openstack.optimizer import waves
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

_R = len(model_mod.RESOURCE_CLASSES)
_CPU = model_mod.RESOURCE_CLASSES.index('VCPU')
_MEM = model_mod.RESOURCE_CLASSES.index('MEMORY_MB')
_DISK = model_mod.RESOURCE_CLASSES.index('DISK_GB')
_PLACEMENT_CLASSES = ('VCPU', 'MEMORY_MB', 'DISK_GB')
#: What a VM's planned rise above its last observed use is taken from
#: (``rise_from`` of :class:`PlanningCycle`).
RISE_FROM = ('point', 'lower')


class CycleError(exception.IrraError):
    msg_fmt = "Planning cycle failed: %(reason)s"


@dataclasses.dataclass
class CycleResult:
    """What one cycle produced.

    :attr plan: the stored plan (a dict from the plan API), or None when
        nothing was stored.
    :attr actions: the planned actions, with waves and reasons.
    :attr shortfalls: what could not be planned or scheduled, and why.
    :attr model: the cluster model the planners worked on.
    :attr forecasts: ``{resource class: Forecast}``.
    :attr summary: figures of every stage (small; stored with the plan).
    """

    plan: dict | None
    actions: list
    shortfalls: list
    model: model_mod.ClusterModel
    forecasts: dict
    summary: dict


@dataclasses.dataclass
class AdjustResult:
    """What :meth:`PlanningCycle.adjust` found and changed.

    :attr deviating: keys of pending actions whose source host's actuals
        left the forecast interval the plan was made on.
    :attr failed: keys of the plan's FAILED actions.
    :attr rescheduled: keys of the PENDING actions given new waves.
    :attr skipped: keys of PENDING actions that cannot run any more
        (their VM failed an earlier hop or moved), now SKIPPED.
    :attr result: the scheduler's :class:`PlanResult`, or None when
        nothing had to change.
    """

    deviating: list
    failed: list
    rescheduled: list
    skipped: list
    result: actions_mod.PlanResult | None


def last_observed(frame, metric, resources, within):
    """(len(resources),) the last finite value of each, or NaN.

    Only the last ``within`` steps of ``frame`` count: an older value says
    nothing of the current demand. A resource absent from the frame gets
    NaN.
    """
    from irra_openstack.forecast import baselines

    out = np.full(len(resources), np.nan)
    if metric not in frame.metrics or not frame.n_steps:
        return out
    values = frame.metric(metric)[:, -max(1, int(within)):]
    idx = baselines.last_finite_at(values, [values.shape[1] - 1])[:, 0]
    latest = np.where(idx >= 0, values[np.arange(values.shape[0]),
                                       np.maximum(idx, 0)], np.nan)
    pos = {sid: i for i, sid in enumerate(frame.resources)}
    rows = np.array([pos.get(sid, -1) for sid in resources], dtype=np.int64)
    known = rows >= 0
    out[known] = latest[rows[known]]
    return out


def _plugin(namespace, obj, kwargs):
    if isinstance(obj, str):
        return plugins.load(namespace, obj, **(kwargs or {}))
    return obj


class PlanningCycle:
    """One region's planning cycle; see the module documentation.

    :param region: the region's name (the datasource's region).
    :param history: seconds of metrics fetched before ``now``.
    :param threshold: share of physical capacity above which a host's
        predicted upper bound is an overload (a number, or one per
        resource class).
    :param cpu_metric: metric of CPU use in % of the VM's vCPUs.
    :param memory_metric: metric of memory use, in MB, or in % of the VM's
        RAM when its unit is ``%``.
    :param cpu_as_memory_input: forecast memory with the VM's CPU use
        as an exogenous input.
    :param automation_level: the plan API's level of stored plans.
    :param constraints: the wave scheduler's
        :class:`~irra_openstack.optimizer.waves.WaveConstraints`, or None
        for its own.
    :param maintenance_windows: daily ``HH:MM-HH:MM`` (UTC) windows in
        which waves may run, laid out from each cycle's ``now``.
    :param floor_at_last: each VM's predicted CPU and memory use (point,
        and upper bound) is never below its last observed value, the
        latest within one horizon before ``now``: a rise the forecast sees
        is planned for, a fall is not taken for granted (see
        :func:`last_observed`).
    :param rise_from: with ``floor_at_last``, ``'point'`` (a rise is
        planned as far as the point forecast goes) or ``'lower'`` (only a
        rise that the lower bound of the interval sees, as far as that
        bound: the planned use is the larger of the lower bound and the
        last observed value).
    :param clock: returns the current time in seconds (for ``now``).
    """

    def __init__(self, datasource, inventory, forecaster, rebalancer,
                 scheduler, region, plan_api=None, region_lp=None,
                 region_problem=None, history=86400, threshold=0.8,
                 cpu_metric='cpu_util', memory_metric='mem_used',
                 automation_level='manual', project_id=None,
                 cpu_as_memory_input=True,
                 constraints=None, maintenance_windows=(), store_empty=False,
                 rebalancer_options=None, scheduler_options=None,
                 floor_at_last=True, rise_from='point', clock=time.time):
        self.datasource = datasource
        self.inventory = inventory
        self.forecaster = forecaster
        self._rebalancer = rebalancer
        self._scheduler = scheduler
        self.rebalancer_options = rebalancer_options
        self.scheduler_options = scheduler_options
        self.region = region
        self.plan_api = plan_api
        self.region_lp = region_lp
        self.region_problem = region_problem
        if (region_lp is None) != (region_problem is None):
            raise CycleError(reason="region_lp and region_problem go "
                                    "together: give both or neither")
        self.step = int(forecaster.step)
        if int(history) < 2 * self.step:
            raise CycleError(reason="history (%ss) must cover at least two "
                                    "steps of %ss" % (history, self.step))
        self.history = int(history)
        thr = np.asarray(threshold, dtype=float)
        if thr.ndim > 1 or (thr.ndim == 1 and thr.shape != (_R,)) or \
                np.any(thr <= 0) or np.any(~np.isfinite(thr)):
            raise CycleError(reason="threshold must be a positive number "
                                    "or one per resource class (%s), got %r"
                             % (', '.join(model_mod.RESOURCE_CLASSES),
                                threshold))
        self.threshold = thr
        self.cpu_metric = cpu_metric
        self.memory_metric = memory_metric
        self.cpu_as_memory_input = bool(cpu_as_memory_input)
        self.automation_level = automation_level
        self.project_id = project_id
        self.constraints = constraints
        self.maintenance_windows = tuple(maintenance_windows or ())
        waves.daily_windows(0, 1, self.maintenance_windows)  # checks them
        self.store_empty = bool(store_empty)
        self.floor_at_last = bool(floor_at_last)
        if rise_from not in RISE_FROM:
            raise CycleError(reason="rise_from must be one of %s, got %r"
                             % (', '.join(RISE_FROM), rise_from))
        self.rise_from = rise_from
        self.clock = clock

    @property
    def rebalancer(self):
        """The rebalancer, loaded by plugin name on first use."""
        if isinstance(self._rebalancer, str):
            self._rebalancer = _plugin('irra.optimizers', self._rebalancer,
                                       self.rebalancer_options)
        return self._rebalancer

    @property
    def scheduler(self):
        """The wave scheduler, loaded by plugin name on first use."""
        if isinstance(self._scheduler, str):
            self._scheduler = _plugin('irra.schedulers', self._scheduler,
                                      self.scheduler_options)
        return self._scheduler

    # -- the stages --------------------------------------------------------

    def collect(self, now):
        """(frame, fetch result) of the region's recent VM metrics."""
        end = int(now) - int(now) % self.step
        start = end - self.history
        result = self.datasource.fetch(
            start, end, self.step,
            metrics=[self.cpu_metric, self.memory_metric], kind='vm',
            regions=[self.region])
        if self.region not in result.frames:
            raise CycleError(reason="no metrics from region %s: %s"
                             % (self.region, result.describe()))
        if not result.complete:
            LOG.warning('Planning %s on partial metrics: %s', self.region,
                        result.describe())
        return result.frames[self.region], result

    def get_inventory(self):
        inv = self.inventory
        inv = inv(self.region) if callable(inv) else inv
        if inv is None or not inv.compute_nodes:
            raise CycleError(reason="the inventory of region %s has no "
                                    "compute node" % self.region)
        return inv

    def forecast(self, frame):
        """``{metric: Forecast}`` of every VM series of ``frame``."""
        from irra_openstack.forecast import base as forecast_base

        out = {}
        for metric in (self.cpu_metric, self.memory_metric):
            inputs = forecast_base.input_metrics(
                metric, self.cpu_metric, self.memory_metric,
                self.cpu_as_memory_input)
            have = [m for m in inputs if m in frame.metrics]
            out[metric] = self.forecaster.predict_frame(
                frame.select(metrics=[metric] + have), metric,
                inputs=inputs)
        return out

    def build_model(self, inv, frame, forecasts):
        """The ClusterModel of ``inv`` with the forecasts, vectorised.

        :returns: (model, usage_lower (V, T, R), figures).
        """
        nodes = inv.compute_nodes
        host_names = [n.name for n in nodes]
        host_index = {n: i for i, n in enumerate(host_names)}
        h = len(nodes)
        cap = np.zeros((h, _R))
        ratio = np.ones((h, _R))
        reserved = np.zeros((h, _R))
        for i, node in enumerate(nodes):
            for r, rc in enumerate(_PLACEMENT_CLASSES):
                inv_rc = node.capacity.get(rc) or {}
                cap[i, r] = float(inv_rc.get('total', 0) or 0)
                ratio[i, r] = float(inv_rc.get('allocation_ratio', 1.0)
                                    or 1.0)
                reserved[i, r] = float(inv_rc.get('reserved', 0) or 0)
        servers = [s for s in inv.servers
                   if (s.hypervisor_hostname or s.host) in host_index]
        if len(servers) < len(inv.servers):
            LOG.info('%d servers of %s are on no known compute node and '
                     'are left out', len(inv.servers) - len(servers),
                     self.region)
        vm_ids = [s.id for s in servers]
        vm_host = np.array([host_index[s.hypervisor_hostname or s.host]
                            for s in servers], dtype=np.int64)
        flavor = np.array([[s.vcpus, s.ram_mb, s.disk_gb] for s in servers],
                          dtype=float).reshape(len(servers), _R)
        horizon = self.forecaster.horizon
        v = len(servers)
        # Conservative default: the whole flavor, all the time.
        upper = np.repeat(flavor[:, None, :], horizon, axis=1)
        point = upper.copy()
        lower = upper.copy()
        figures = {}
        for r, metric in ((_CPU, self.cpu_metric),
                          (_MEM, self.memory_metric)):
            fc = forecasts[metric]
            pos = {sid: i for i, sid in enumerate(fc.series)}
            rows = np.array([pos.get(sid, -1) for sid in vm_ids],
                            dtype=np.int64)
            have = rows >= 0
            have[have] &= fc.valid[rows[have]]
            pct = (r == _CPU or frame.units.get(metric) == '%')
            scale = flavor[:, r] / 100.0 if pct else np.ones(v)
            for arr, src in ((upper, fc.upper), (point, fc.point),
                             (lower, fc.lower)):
                arr[have, :, r] = np.maximum(
                    src[rows[have]] * scale[have, None], 0.0)
            figures['%s_without_forecast' % metric] = int(v - have.sum())
            if self.floor_at_last:
                last = last_observed(frame, metric, vm_ids, horizon)
                last = last * scale
                raise_ = have & np.isfinite(last)
                floor = last[raise_, None]
                rise = (lower if self.rise_from == 'lower' else
                        point)[raise_, :, r]
                below = rise < floor
                figures['%s_floored_at_last' % metric] = int(
                    below.any(axis=1).sum())
                point[raise_, :, r] = np.maximum(rise, floor)
                upper[raise_, :, r] = np.maximum(upper[raise_, :, r],
                                                 point[raise_, :, r])
        groups = {}
        for i, s in enumerate(servers):
            for g, pol in zip(s.server_groups, s.policies):
                if pol in model_mod.POLICIES:
                    groups.setdefault((g, pol), []).append(i)
        az = {}
        for s in servers:
            az.setdefault(s.hypervisor_hostname or s.host,
                          s.availability_zone)
        model = model_mod.ClusterModel(
            host_names=host_names, capacity=cap, allocation_ratio=ratio,
            reserved=reserved, vm_ids=vm_ids, flavor=flavor,
            vm_host=vm_host, usage_upper=upper, usage_point=point,
            threshold=np.broadcast_to(self.threshold, (h, _R)).copy(),
            host_az=[az.get(n) for n in host_names],
            vm_az=[s.availability_zone for s in servers],
            server_groups=[model_mod.ServerGroup(g, pol, tuple(m))
                           for (g, pol), m in sorted(groups.items())],
            step=self.step)
        return model, lower, figures

    # -- one cycle -----------------------------------------------------------

    def run(self, now=None):
        """Run one cycle; see the module documentation.

        :returns: a :class:`CycleResult`.
        :raises CycleError: no metrics, no inventory, or a planner's error
            (with the planner's message).
        """
        t0 = time.monotonic()
        now = self.clock() if now is None else now
        frame, fetched = self.collect(now)
        inv = self.get_inventory()
        forecasts = self.forecast(frame)
        model, lower, figures = self.build_model(inv, frame, forecasts)
        plan_uuid = uuidutils.generate_uuid()
        level = forecasts[self.cpu_metric].level
        rebalanced = self._call('host rebalancer', self.rebalancer.plan,
                                model)
        planned = list(rebalanced.actions)
        shortfalls = list(rebalanced.shortfalls)
        lp_summary = None
        if self.region_lp is not None:
            problem = self.region_problem(model, forecasts)
            lp = self._call('region LP', self.region_lp.plan, problem,
                            salt=plan_uuid)
            planned.extend(lp.actions)
            shortfalls.extend(lp.shortfalls)
            lp_summary = {k: v for k, v in lp.summary.items()
                          if isinstance(v, (int, float, str))}
        cache = {}
        for a in planned:
            if a.action_type in waves.MIGRATIONS:
                explain.complete(a, model, level=level, usage_lower=lower,
                                 cache=cache)
            a.key = None
            a.with_key(plan_uuid)
        constraints = self.constraints
        if constraints is None:
            constraints = dataclasses.replace(
                getattr(self.scheduler, 'constraints',
                        waves.WaveConstraints()))
        constraints = dataclasses.replace(constraints, salt=plan_uuid,
                                          start=float(now))
        if self.maintenance_windows:
            constraints.windows = waves.daily_windows(
                now, 2, self.maintenance_windows)
        scheduled = self._call('wave scheduler', self.scheduler.schedule,
                               planned, model, constraints)
        shortfalls.extend(scheduled.shortfalls)
        summary = {
            'region': self.region,
            'now': int(now),
            'hosts': model.n_hosts,
            'vms': model.n_vms,
            'forecast': {'model': forecasts[self.cpu_metric].model,
                         'level': level,
                         'horizon_seconds': model.horizon * self.step},
            'metrics_complete': fetched.complete,
            'overloaded_hosts': int(model.overloaded().sum()),
            'rebalance': {k: v for k, v in rebalanced.summary.items()
                          if isinstance(v, (int, float, str, type(None)))},
            'waves': {k: v for k, v in scheduled.summary.items()
                      if k != 'cost'},
            'cost': scheduled.summary.get('cost'),
            'actions': len(scheduled.actions),
            'shortfalls': len(shortfalls),
        }
        summary.update(figures)
        if lp_summary is not None:
            summary['region_lp'] = lp_summary
        plan = None
        if self.plan_api is not None and (scheduled.actions or
                                          self.store_empty):
            scope = {'region': self.region, 'mode': 'continuous',
                     'description': 'planning cycle at %d' % int(now),
                     'summary': summary,
                     'shortfalls': [dataclasses.asdict(s)
                                    for s in shortfalls[:100]]}
            plan = self.plan_api.plan_create_with_actions(
                scope, self.automation_level, self.project_id,
                scheduled.actions, uuid=plan_uuid)
        summary['seconds'] = round(time.monotonic() - t0, 3)
        LOG.info('Planning cycle of %s: %d actions in %s waves, %d '
                 'shortfalls, plan %s', self.region,
                 len(scheduled.actions), scheduled.summary.get('waves'),
                 len(shortfalls), plan['uuid'] if plan else None)
        return CycleResult(plan=plan, actions=scheduled.actions,
                           shortfalls=shortfalls, model=model,
                           forecasts=forecasts, summary=summary)

    # -- real-time adjustment ----------------------------------------------

    def observed(self, model, start, end):
        """(V, n, R) observed usage of the model's VMs in [start, end).

        NaN where a value is missing; disk is the flavor's.
        """
        n = (end - start) // self.step
        out = np.full((model.n_vms, n, _R), np.nan)
        if n <= 0:
            return out
        result = self.datasource.fetch(
            start, end, self.step,
            metrics=[self.cpu_metric, self.memory_metric], kind='vm',
            regions=[self.region])
        frame = result.frames.get(self.region)
        out[:, :, _DISK] = model.flavor[:, None, _DISK]
        if frame is None:
            return out
        pos = {sid: i for i, sid in enumerate(frame.resources)}
        rows = np.array([pos.get(v, -1) for v in model.vm_ids],
                        dtype=np.int64)
        have = rows >= 0
        for r, metric in ((_CPU, self.cpu_metric),
                          (_MEM, self.memory_metric)):
            values = frame.metric(metric)[:, :n]
            pct = (r == _CPU or frame.units.get(metric) == '%')
            scale = model.flavor[:, r] / 100.0 if pct else \
                np.ones(model.n_vms)
            out[have, :values.shape[1], r] = (values[rows[have]]
                                              * scale[have, None])
        return out

    def deviating(self, state, plan_start, now, inv):
        """Keys of pending migrations whose actuals left their interval.

        The forecast the plan was made on is made again from the metrics
        up to ``plan_start`` (forecasters are deterministic); the sums over
        each host's VMs of their observed usage at the last whole step
        before ``now`` are compared with the sums of their bounds. An
        action deviates when its source host's value of the action's
        resource class is outside ``[lower, upper]``.
        """
        elapsed = (int(now) - int(now) % self.step
                   - (int(plan_start) - int(plan_start) % self.step))
        n = min(elapsed // self.step, self.forecaster.horizon)
        if n <= 0:
            return []
        frame, _ = self.collect(plan_start)
        forecasts = self.forecast(frame)
        model, lower, _ = self.build_model(inv, frame, forecasts)
        start = int(plan_start) - int(plan_start) % self.step
        seen = self.observed(model, start, start + n * self.step)
        k = n - 1
        placed = model.vm_host >= 0
        h = model.n_hosts
        act = np.zeros((h, _R))
        lo = np.zeros((h, _R))
        hi = np.zeros((h, _R))
        unknown = np.zeros((h, _R), dtype=bool)
        np.add.at(act, model.vm_host[placed],
                  np.nan_to_num(seen[placed, k]))
        np.add.at(unknown, model.vm_host[placed],
                  np.isnan(seen[placed, k]))
        np.add.at(lo, model.vm_host[placed], lower[placed, k])
        np.add.at(hi, model.vm_host[placed], model.usage_upper[placed, k])
        tol = 1e-6 * np.maximum(np.abs(hi), 1.0)
        out = ((act > hi + tol) | (act < lo - tol)) & ~unknown
        hosts = {name: i for i, name in enumerate(model.host_names)}
        keys = []
        for a in state.actions:
            if state.states.get(a.key) != constants.ActionState.PENDING or \
                    a.action_type not in waves.MIGRATIONS or \
                    a.source not in hosts:
                continue
            metric = (a.reason.get('forecast') or {}).get('metric')
            r = (model_mod.RESOURCE_CLASSES.index(metric)
                 if metric in model_mod.RESOURCE_CLASSES else _CPU)
            if out[hosts[a.source], r]:
                keys.append(a.key)
        return keys

    def adjust(self, plan_uuid, now=None):
        """Replan a stored plan's pending actions, when needed.

        Needed when one of its actions FAILED, or when the actuals of a
        pending migration's source host left the forecast interval. Then
        only the PENDING actions are scheduled again (after the waves that
        started), on a fresh forecast and the current placement; the ones
        that cannot run any more are SKIPPED with the reason.

        :returns: an :class:`AdjustResult`.
        """
        if self.plan_api is None:
            raise CycleError(reason="adjusting a plan needs the plan API")
        now = self.clock() if now is None else now
        plan, rows = self.plan_api.plan_actions(plan_uuid)
        plan_start = ((plan.get('scope') or {}).get('summary') or
                      {}).get('now')
        if plan_start is None:
            raise CycleError(reason="plan %s was not made by a planning "
                                    "cycle (its scope has no summary)"
                             % plan_uuid)
        state = waves.ScheduleState.from_records(rows)
        inv = self.get_inventory()
        failed = [a.key for a in state.actions
                  if state.states.get(a.key) == constants.ActionState.FAILED]
        deviating = self.deviating(state, plan_start, now, inv)
        if not failed and not deviating:
            return AdjustResult([], [], [], [], None)
        frame, _ = self.collect(now)
        forecasts = self.forecast(frame)
        model, _, _ = self.build_model(inv, frame, forecasts)
        constraints = self.constraints or getattr(
            self.scheduler, 'constraints', waves.WaveConstraints())
        constraints = dataclasses.replace(constraints, salt=plan_uuid,
                                          start=float(now))
        if self.maintenance_windows:
            constraints.windows = waves.daily_windows(
                now, 2, self.maintenance_windows)
        result = self.scheduler.replan(state, failed + deviating, model,
                                       constraints)
        pending = {a.key for a in state.actions
                   if state.states.get(a.key) == constants.ActionState.PENDING}
        again = [a for a in result.actions
                 if a.key in pending and a.wave is not None]
        rescheduled = self.plan_api.actions_reschedule(
            [a.as_record() for a in again])
        known = {a.key for a in state.actions}
        new = [a for a in result.actions if a.key not in known]
        if new:     # staging hops that break a new cycle
            self.plan_api.actions_add(plan_uuid,
                                      [a.as_record() for a in new])
            rescheduled += [a.key for a in new]
        why = {}
        for s in result.shortfalls:
            for key in pending:
                if key in s.reason:
                    why[key] = s.reason
        kept = {a.key for a in result.actions}
        skipped = []
        for key in sorted(pending - kept):
            done = self.plan_api.action_finish(
                key, constants.ActionState.SKIPPED,
                error=why.get(key, 'dropped by replanning'),
                expected=(constants.ActionState.PENDING,))
            if done is not None:
                skipped.append(key)
        LOG.info('Plan %s adjusted: %d failed, %d deviating, %d '
                 'rescheduled, %d skipped', plan_uuid, len(failed),
                 len(deviating), len(rescheduled), len(skipped))
        return AdjustResult(deviating, failed, rescheduled, skipped,
                            result)

    @staticmethod
    def _call(what, fn, *args, **kwargs):
        try:
            result = fn(*args, **kwargs)
        except exception.IrraError:
            raise
        except (ValueError, TypeError) as exc:
            raise CycleError(reason="the %s failed: %s: %s"
                             % (what, type(exc).__name__, exc))
        if not isinstance(result, actions_mod.PlanResult):
            raise CycleError(reason="the %s returned %s, not a PlanResult"
                             % (what, type(result).__name__))
        return result


def from_conf(conf, datasource, inventory, region, plan_api=None,
              forecaster=None, clock=time.time):
    """A :class:`PlanningCycle` configured by ``[planning]``.

    The rebalancer and the wave scheduler are loaded by plugin name, with
    their own option groups; the forecaster is ``[forecast]``'s unless one
    is given.
    """
    from irra_openstack.forecast import base as forecast_base

    p = conf.planning
    if forecaster is None:
        forecaster = forecast_base.from_conf(conf, floor=0.0)
    reb_group = plugins.register_plugin_opts(conf, 'irra.optimizers',
                                             p.rebalancer)
    reb_kwargs = {}
    if reb_group is not None:
        cls = plugins.load_class('irra.optimizers', p.rebalancer)
        for opt in cls.get_config_opts():
            value = getattr(reb_group, opt.dest, None)
            if value is not None:
                reb_kwargs[opt.dest] = value
    sched_group = plugins.register_plugin_opts(
        conf, waves.NAMESPACE, p.wave_scheduler, base=waves.WaveScheduler)
    cls = plugins.load_class(waves.NAMESPACE, p.wave_scheduler,
                             base=waves.WaveScheduler)
    constraints = cls.constraints_from_group(sched_group)
    constraints.windows = ()
    sched_kwargs = {'constraints': constraints}
    for name in ('iterations', 'seed', 'initial_temperature', 'max_steps'):
        if hasattr(sched_group, name):
            sched_kwargs[name] = getattr(sched_group, name)
    return PlanningCycle(
        datasource=datasource, inventory=inventory, forecaster=forecaster,
        rebalancer=p.rebalancer, rebalancer_options=reb_kwargs,
        scheduler=p.wave_scheduler, scheduler_options=sched_kwargs,
        region=region, plan_api=plan_api, history=p.history,
        threshold=p.threshold, cpu_metric=p.cpu_metric,
        memory_metric=p.memory_metric,
        cpu_as_memory_input=p.cpu_as_memory_input,
        automation_level=p.automation_level,
        maintenance_windows=sched_group.maintenance_windows,
        store_empty=p.store_empty_plans,
        floor_at_last=p.floor_at_last_value, rise_from=p.planned_rise,
        clock=clock)
