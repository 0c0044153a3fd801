"""irra's policies in the replay: the forecast-driven rebalancer and oracle.

Both build a :class:`~irra_openstack.optimizer.model.ClusterModel` of the
replay state at each audit and ask the host rebalancer
(``irra.optimizers`` plugin ``rebalance``) for a plan: with the risk
objective, the migrations that lower the expected overloaded host-minutes
by more than their cost; with the threshold objective, the fewest
migrations after which no host's predicted CPU passes its threshold over
the horizon, consolidating when the forecast allows. They differ only in
the forecast they give it:

* ``irra``: irra's forecaster, fitted on the past only, for all VMs at
  once (usage scenarios: its forecast plus its back-test residuals; or its
  upper bound);
* ``oracle``: the actual demand of the next ``horizon`` steps, which no
  real policy can know: the limit that ``irra`` is measured against.
"""

import numpy as np
from oslo_log import log as logging

from irra_openstack.engine import replay
from irra_openstack.optimizer import model as model_mod
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

#: Disk capacity given to replay hosts (GiB); the replay has no disk.
_NO_DISK = 1e6


def make_forecaster(step, horizon, name='seasonal_naive', level=0.9,
                    season_steps=None, calibration_steps=None,
                    max_origins=48, threads=None, **kwargs):
    """A forecaster of ``horizon`` steps from the ``irra.forecasters``.

    Seasonal naive with a one-day season and split-conformal intervals by
    default: fast enough to refit at every audit on every VM.

    :param calibration_steps: steps of the calibration back-test (one day
        by default).
    :param max_origins: most back-test origins, spread over them.
    :param threads: threads of the plugin's learned models (its
        ``threads`` option), or of its candidates' (``auto``); None for
        the plugin's own default.
    :param kwargs: the plugin's own arguments.
    """
    from irra_openstack.forecast import base

    day = max(1, 86400 // step)
    season = day if season_steps is None else season_steps
    window = day if calibration_steps is None else calibration_steps
    if threads is not None:
        kwargs = dict(kwargs)
        for key, value in thread_kwargs(
                name, threads, kwargs.get('candidates')).items():
            if isinstance(value, dict):
                # A candidate's own arguments win over the threads.
                for c, own in (kwargs.get(key) or {}).items():
                    value[c] = dict(value.get(c, {}), **own)
            kwargs[key] = value
    return plugins.load(base.NAMESPACE, name, base=base.Forecaster,
                        step=step, horizon=horizon, level=level,
                        season=season, calibration_window=window,
                        max_origins=max_origins, floor=0.0, **kwargs)


def thread_kwargs(name, threads, candidates=None):
    """Constructor arguments giving forecaster ``name`` ``threads``.

    ``{'threads': n}`` for a plugin with a ``threads`` option (gbm,
    ridge); for one that combines candidates (auto), ``candidate_kwargs``
    for those of its ``candidates`` (by default its option's default)
    that have one; else nothing.
    """
    from irra_openstack.forecast import base

    def opts(plugin):
        cls = plugins.load_class(base.NAMESPACE, plugin, base=base.Forecaster)
        return {o.dest: o for o in cls.get_config_opts()}

    own = opts(name)
    if isinstance(candidates, str):
        candidates = [c.strip() for c in candidates.split(',') if c.strip()]
    if 'threads' in own:
        return {'threads': int(threads)}
    if 'candidates' in own:
        per = {c: {'threads': int(threads)}
               for c in candidates or own['candidates'].default
               if isinstance(c, str) and c != name and 'threads' in opts(c)}
        return {'candidate_kwargs': per} if per else {}
    return {}


#: Fewest back-test origins with a whole horizon that the risk scenarios
#: are made of; with fewer (a short history), every origin is used.
MIN_SCENARIOS = 20


#: What irra's risk objective plans on (``scenarios`` of
#: :class:`RebalancerPolicy`).
FLOORED = 'floored'
HOST_FLOORED = 'host_floored'
CONFIDENT = 'confident'
POINT = 'point'
RESIDUALS = 'residuals'
SCENARIOS = (FLOORED, HOST_FLOORED, CONFIDENT, POINT, RESIDUALS)
#: The scenarios of one scenario per VM.
ONE_SCENARIO = (FLOORED, HOST_FLOORED, CONFIDENT, POINT)


def scenario_residuals(residuals):
    """(V, S, T) residual scenarios from back-test residuals (V, O, T).

    Every VM of a scenario takes its residual from the same origin, which
    keeps their correlation in the host sums. The origins whose whole
    horizon is known are used when there are at least
    :data:`MIN_SCENARIOS` of them: one scenario per origin. Otherwise (a
    short history) each step takes the origins where it is known, in turn,
    as many scenarios as the first step has: the risk only ever sums one
    step's share of overloaded scenarios, so a scenario need not be one
    origin along the horizon, and no residual is made up. A step without
    any known residual takes those of the nearest earlier step; no origin
    at all gives one scenario of zero residuals (the point forecast).
    """
    res = np.asarray(residuals, dtype=float)
    known = np.isfinite(res).all(axis=0)                  # (O, T)
    whole = known.all(axis=1)
    if whole.sum() >= MIN_SCENARIOS:
        return res[:, whole]
    n_origins, horizon = known.shape
    count = known.sum(axis=0)                             # (T,)
    if not n_origins or count[0] == 0:
        return np.zeros((res.shape[0], 1, horizon))
    # The nearest earlier step with a known residual, for each step.
    have = np.where(count > 0, np.arange(horizon), 0)
    np.maximum.accumulate(have, out=have)
    size = int(count[0])
    pick = np.empty((size, horizon), dtype=np.int64)
    for h in range(horizon):
        origins = np.flatnonzero(known[:, have[h]])
        pick[:, h] = origins[np.arange(size) % len(origins)]
    return res[:, pick, have[None, :]]


def hold_after(values, steps):
    """(V, T) ``values`` with column ``steps - 1`` held from there on."""
    values = np.asarray(values)
    held = np.repeat(values[:, steps - 1:steps], values.shape[1] - steps,
                     axis=1)
    return np.concatenate([values[:, :steps], held], axis=1)


def build_model(view, usage_upper, threshold, samples=None,
                move_penalty=None):
    """The ClusterModel of an audit, with ``usage_upper`` (V, T) in vCPUs.

    :param samples: optional (V, S, T) joint CPU scenarios (vCPUs) for the
        risk objective.
    :param move_penalty: optional (V,) extra cost of moving each VM.
    """
    cluster = view.cluster
    h = cluster.n_hosts
    v, horizon = usage_upper.shape
    upper = np.zeros((v, horizon, len(model_mod.RESOURCE_CLASSES)))
    upper[:, :, 0] = usage_upper
    upper[:, :, 1] = np.asarray(view.ram_mb)[:, None]
    scenarios = None
    if samples is not None:
        samples = np.asarray(samples, dtype=float)
        scenarios = np.zeros(samples.shape + (upper.shape[2],))
        scenarios[..., 0] = samples
        scenarios[..., 1] = np.asarray(view.ram_mb)[:, None, None]
    capacity = np.tile([cluster.host_cpus, cluster.host_ram_mb, _NO_DISK],
                       (h, 1))
    ratio = np.tile([cluster.cpu_ratio, 1.0, 1.0], (h, 1))
    flavor = np.zeros((v, len(model_mod.RESOURCE_CLASSES)))
    flavor[:, 0] = view.vcpus
    flavor[:, 1] = view.ram_mb
    return model_mod.ClusterModel(
        host_names=cluster.host_names, capacity=capacity,
        allocation_ratio=ratio, reserved=np.zeros((h, 3)),
        vm_ids=list(view.vm_ids), flavor=flavor,
        vm_host=np.array(view.vm_host), usage_upper=upper,
        usage_samples=scenarios, move_penalty=move_penalty,
        threshold=np.tile([threshold, 1.0, 1.0], (h, 1)),
        enabled=~np.asarray(view.disabled), step=view.step)


class RebalancerPolicy(replay.Policy):
    """``irra`` (forecast) or ``oracle`` (actual future) + the rebalancer.

    :param rebalancer: an object with ``plan(ClusterModel) -> PlanResult``
        (the ``rebalance`` optimizer).
    :param horizon: steps the plan looks ahead.
    :param forecaster: a Forecaster of that horizon; None for the oracle.
    :param history_steps: most recent steps the forecaster is fitted on.
    :param threshold: share of physical cores a host's predicted CPU may
        reach.
    :param host_intervals: for ``irra``, calibrate the interval of each
        host on the host's own back-test residuals (the sum of its VMs',
        :mod:`irra_openstack.forecast.hierarchy`) instead of adding up the
        VMs' upper bounds, which over-covers (quantiles do not add); each
        VM's share of its host's width is in proportion to its own width.
    :param fixer: optional non-consolidating rebalancer. When given, a
        consolidating plan that frees fewer than ``min_freed`` hosts is
        dropped for the fixer's plan, which only removes predicted
        overloads: consolidation moves VMs only when it pays off. With
        ``max_moves_per_freed``, a consolidating plan of more moves than
        that per freed host is dropped too.
    :param objective: ``threshold`` or ``risk``, the rebalancer's
        objective; with ``risk`` the model also gets joint CPU scenarios
        of the VMs (see :meth:`_upper`).
    :param hysteresis_steps: with ``risk``, a VM that changed host less
        than this many steps ago costs twice the rebalancer's
        ``move_cost`` to move again (0: no hysteresis).
    :param refit_steps: for ``irra``, refit (and recalibrate) the
        forecaster only when this many steps have passed since the last
        fit (sooner while the history is short, see :meth:`_refit_due`),
        and forecast at every audit from the last fit; None refits at
        every audit.
    :param scenarios: with ``risk``, what irra plans on:
        ``'floored'``, one scenario per VM, its point forecast floored at
        its last observed demand (a rise the forecast sees is planned
        for, a fall is not taken for granted); ``'host_floored'``, one
        scenario per VM, its point forecast, with each host's sum of them
        floored at the host's last load
        (:func:`~irra_openstack.optimizer.model.host_floor`: a VM's
        expected rise is offset by the expected falls of the VMs beside
        it); ``'confident'``, the same as ``'floored'``
        with the lower bound of the forecast's interval instead of its
        point: only a rise that the whole interval sees is planned for,
        and only as far as the lower bound; ``'point'``, the point
        forecast alone (the last demand where there is none); or
        ``'residuals'``, the
        point forecast plus the back-test residuals of past origins
        (:func:`scenario_residuals`).
    :param rise_steps: with ``floored``, ``host_floored``, ``confident``
        or ``point``,
        plan on the forecast of the first ``rise_steps`` steps only and
        hold its value at step ``rise_steps - 1`` for the rest of the
        horizon, as the last-value forecast holds the last demand: a
        rise the forecast expects later is left to a later audit, which
        will see it from closer (None: the whole horizon).
    :param early_audits: audit again, before the next scheduled audit,
        as soon as a host's actual load has left what the last plan
        expected: above the sum of its VMs' upper bounds for that tick
        and above ``threshold`` of its cores (see :meth:`early_audit`).
        The new plan starts from the current state with the last fit of
        the forecaster (no refit).
    """

    def __init__(self, name, rebalancer, horizon, audit_steps=1,
                 forecaster=None, history_steps=None, threshold=0.8,
                 fixer=None, min_freed=1, host_intervals=False,
                 max_moves_per_freed=None, objective='threshold',
                 refit_steps=None, hysteresis_steps=0,
                 early_audits=False, scenarios=FLOORED, rise_steps=None):
        super().__init__(name, audit_steps)
        if rise_steps is not None and int(rise_steps) < 1:
            raise replay.ReplayError(
                reason="rise_steps must be 1 or more, got %r"
                % (rise_steps,))
        self.rise_steps = None if rise_steps is None else int(rise_steps)
        if scenarios not in SCENARIOS:
            raise replay.ReplayError(
                reason="scenarios must be one of %s, got %r"
                % (', '.join(SCENARIOS), scenarios))
        self.scenarios = scenarios
        self.early_audits = bool(early_audits)
        #: (tick, (V, T) upper bounds, (H,) limits) of the last plan.
        self._expected = None
        self.hysteresis_steps = int(hysteresis_steps)
        self._last_host = None
        self._moved_at = None
        self.objective = objective
        self.refit_steps = refit_steps
        self._fitted_at = None
        self._fitted_len = 0
        self._residuals = None
        #: Forecaster fits so far.
        self.fits = 0
        self.max_moves_per_freed = max_moves_per_freed
        self.host_intervals = bool(host_intervals)
        self.rebalancer = rebalancer
        self.fixer = fixer
        self.min_freed = int(min_freed)
        self.horizon = int(horizon)
        self.forecaster = forecaster
        self.sees_future = forecaster is None
        self.history_steps = history_steps
        self.threshold = float(threshold)
        self._vm_index = None
        self._host_index = None

    def _upper(self, view):
        """(V, T) upper bounds of the audit, and (V, S, T) scenarios.

        The scenarios are the oracle's actual future (one scenario), or
        with ``scenarios='floored'`` irra's point forecast floored at the
        last observed demand (one scenario), or with ``'residuals'`` its
        point forecast plus the VMs' back-test residuals of the same past
        origins (:func:`scenario_residuals`), floored at 0; None with the
        threshold objective.
        """
        if self.sees_future:
            future = np.asarray(view.future)
            if future.shape[1] < self.horizon:
                # The end of the trace: the last value repeats.
                pad = np.repeat(future[:, -1:] if future.shape[1] else
                                view.history[:, -1:],
                                self.horizon - future.shape[1], axis=1)
                future = np.concatenate([future, pad], axis=1)
            return future, future[:, None, :]
        history = np.asarray(view.history)
        first = 0
        if self.history_steps:
            first = max(0, history.shape[1] - self.history_steps)
        history = history[:, first:]
        if history.shape[1] == 0:
            zero = np.zeros((history.shape[0], self.horizon))
            return zero, zero[:, None, :]
        if self._refit_due(view.tick, history.shape[1]):
            self.forecaster.fit(history, first * view.step)
            self._fitted_at = view.tick
            self._fitted_len = history.shape[1]
            self._residuals = None
            self.fits += 1
        forecast = self.forecaster.predict(history, first * view.step)
        point = np.asarray(forecast.point)
        if self.objective == 'risk' and self.scenarios in ONE_SCENARIO:
            last = history[:, -1:]
            if self.scenarios == CONFIDENT:
                point = np.asarray(forecast.lower)
            if self.rise_steps and self.rise_steps < point.shape[1]:
                point = hold_after(point, self.rise_steps)
            if self.scenarios == POINT:
                # The forecast; a VM without one plans on its demand of
                # the last tick.
                point = np.where(np.isfinite(point), point, last)
            elif self.scenarios == HOST_FLOORED:
                # The forecast, its host sums never below the host's load
                # of the last tick (a VM without either plans on 0 or
                # its last demand).
                seen = np.maximum(np.nan_to_num(last[:, 0]), 0.0)
                point = np.where(np.isfinite(point), point, seen[:, None])
                point = model_mod.host_floor(np.maximum(point, 0.0), seen,
                                             view.vm_host)
            else:
                # The forecast (or with 'confident' its lower bound),
                # never below the VM's demand of the last tick (fmax: a
                # VM without a value keeps the forecast).
                point = np.fmax(point, last)
            point = np.maximum(np.nan_to_num(point), 0.0)
            upper = np.fmax(np.asarray(forecast.upper), point)
            return upper, point[:, None, :]
        if self._residuals is None and (self.host_intervals or
                                        self.objective == 'risk'):
            from irra_openstack.forecast import hierarchy

            self._residuals = hierarchy.backtest_residuals(
                self.forecaster, history)
        samples = None
        if self.objective == 'risk':
            samples = np.maximum(
                point[:, None, :] + scenario_residuals(self._residuals),
                0.0)
        if not self.host_intervals or samples is not None:
            # The risk objective plans on the scenarios; the upper bounds
            # only describe the moves.
            return np.asarray(forecast.upper), samples
        return self._host_calibrated(forecast, history, view.vm_host), \
            samples

    def _move_penalty(self, view):
        """(V,) extra move cost of the VMs that changed host lately."""
        vm_host = np.asarray(view.vm_host)
        if self._last_host is None:
            self._moved_at = np.full(len(vm_host), -np.inf)
        else:
            self._moved_at[vm_host != self._last_host] = view.tick
        self._last_host = vm_host.copy()
        if not self.hysteresis_steps:
            return None
        recent = view.tick - self._moved_at < self.hysteresis_steps
        return np.where(recent, self.rebalancer.move_cost, 0.0)

    def _refit_due(self, tick, length):
        """Whether to refit the forecaster at ``tick``.

        Every audit without ``refit_steps``; otherwise once
        ``refit_steps`` have passed since the last fit, or sooner while
        the history is short: as soon as it has grown by as many steps as
        the last fit had (so a model fitted on one hour of history is
        refitted after two, four, eight...).
        """
        if self._fitted_at is None or not self.refit_steps:
            return True
        due = min(self.refit_steps, max(1, self._fitted_len))
        return tick - self._fitted_at >= due or length < self._fitted_len

    def _host_calibrated(self, forecast, history, vm_host):
        """VM upper bounds whose sums are the hosts' calibrated bounds."""
        from irra_openstack.forecast import hierarchy

        vm_host = np.asarray(vm_host)
        tree = hierarchy.Hierarchy(
            forecast.series, vm_host={s: 'h%d' % h for s, h in
                                      zip(forecast.series, vm_host)})
        levels = hierarchy.aggregate(
            forecast, tree, self._residuals, history=history,
            min_residuals=self.forecaster.min_residuals, floor=0.0)
        hosts = levels['host']
        index = {name: i for i, name in enumerate(hosts.series)}
        rows = np.array([index['h%d' % h] for h in vm_host])
        point = np.asarray(forecast.point)
        width = np.asarray(forecast.upper) - point            # (V, T)
        host_width = (np.asarray(hosts.upper) -
                      np.asarray(hosts.point))                # (G, T)
        summed = np.zeros_like(host_width)
        np.add.at(summed, rows, width)
        with np.errstate(invalid='ignore', divide='ignore'):
            share = np.where(summed > 0, host_width / summed, 1.0)
        share = np.clip(share, 0.0, 1.0)
        return point + share[rows] * width

    def early_audit(self, tick, last, vm_host):
        """Whether a host's actual load left the last plan's expectation.

        At ``tick - 1``: the host's load is above the sum of its VMs'
        upper bounds for that tick (VMs on their current hosts) and above
        ``threshold`` of its cores. Only within the last plan's horizon.
        """
        if not self.early_audits or self._expected is None:
            return False
        planned_at, upper, limit = self._expected
        k = tick - 1 - planned_at
        if not 0 <= k < upper.shape[1]:
            return False
        n_hosts = limit.size
        seen = np.bincount(vm_host, last, n_hosts)
        expected = np.bincount(vm_host, upper[:, k], n_hosts)
        return bool(np.any((seen > expected + 1e-9) & (seen > limit)))

    def plan(self, view):
        if self._vm_index is None:
            self._vm_index = {v: i for i, v in enumerate(view.vm_ids)}
            self._host_index = {h: i for i, h in
                                enumerate(view.cluster.host_names)}
        upper, samples = self._upper(view)
        self._expected = (view.tick, np.asarray(upper),
                          np.full(view.cluster.n_hosts,
                                  self.threshold * view.cluster.host_cpus))
        risk = self.objective == 'risk'
        model = build_model(view, upper, self.threshold,
                            samples if risk else None,
                            self._move_penalty(view) if risk else None)
        result = self.rebalancer.plan(model)
        moves = replay.moves_from_plan(result, self._vm_index,
                                       self._host_index)
        if self.fixer is not None and moves:
            final = np.array(view.vm_host)
            for v, d in moves:
                final[v] = d
            freed = (np.unique(view.vm_host).size - np.unique(final).size)
            if freed < self.min_freed or (
                    self.max_moves_per_freed and
                    len(moves) > self.max_moves_per_freed * freed):
                moves = replay.moves_from_plan(
                    self.fixer.plan(model), self._vm_index,
                    self._host_index)
        migrating = np.asarray(view.migrating)
        moves = [(v, d) for v, d in moves if not migrating[v]]
        LOG.debug('%s at tick %d: %d moves', self.name, view.tick,
                  len(moves))
        return replay.Decision(moves=moves)


def rebalancer_factory(threshold, consolidate=True, method='heuristic',
                       time_limit=1.0, objective='threshold', move_cost=1.0,
                       risk_level=1.0, lead_steps=1):
    """The host rebalancer, or the IrraError that says why it is missing.

    :param time_limit: seconds the heuristic's consolidation passes (or
        the risk search) may take per audit.
    :param objective, move_cost, risk_level, lead_steps: see
        :class:`~irra_openstack.optimizer.rebalance.HostRebalancer`. In
        the replay a move started at an audit changes the load from the
        next tick on, so one lead step by default.
    """
    try:
        from irra_openstack.optimizer import rebalance
    except ImportError as exc:
        return replay.ReplayError(
            reason="irra's host rebalancer (irra_openstack.optimizer."
                   "rebalance) cannot be imported: %s" % exc)
    return rebalance.HostRebalancer(threshold=threshold,
                                    consolidate=consolidate,
                                    method=method, time_limit=time_limit,
                                    objective=objective,
                                    move_cost=move_cost,
                                    risk_level=risk_level,
                                    lead_steps=lead_steps)


#: Every policy name the benchmark knows, in its default order.
DEFAULT_POLICIES = ('irra', 'reactive', 'oracle', 'none',
                    'watcher:workload_stabilization',
                    'watcher:vm_workload_consolidation',
                    'watcher:workload_balance')


def make_policies(names, step, audit_steps=1, reactive_audit_steps=1,
                  horizon=12, threshold=0.8, reactive_threshold=0.8,
                  forecaster='auto', history_steps=None,
                  consolidate=False, time_limit=1.0, min_freed=1,
                  host_intervals=True, max_moves_per_freed=None,
                  watcher_overrides=None, objective='risk',
                  move_cost=1.0, risk_level=1.0, refit_steps=None,
                  forecaster_kwargs=None, lead_steps=1,
                  hysteresis_steps=0, early_audits=False,
                  scenarios=FLOORED, forecaster_threads=None,
                  watcher_audit_steps=3, rise_steps=None):
    """Policies by name: a Policy, or the IrraError saying why it cannot run.

    The defaults (irra and oracle audit at every step, the Watcher
    strategies every 3 steps; the risk objective with a move cost of one
    minute on the floored forecast, irra's ``auto`` forecaster refitted
    once a day)
    are the ones measured on Bitbrains and PlanetLab; see
    doc/source/admin/replay.rst. irra and oracle always get the same
    optimiser settings; only the forecast they plan on differs (the
    oracle's is the actual future).

    :param names: e.g. ``['irra', 'oracle', 'watcher:workload_balance']``.
    :param audit_steps: steps between the audits of irra, oracle and none.
    :param watcher_audit_steps: steps between the audits of the Watcher
        strategies (None: ``audit_steps``).
    :param min_freed: irra and oracle keep a consolidating plan only when
        it frees at least this many hosts, else they only remove predicted
        overloads; 0 keeps every consolidating plan.
    :param host_intervals: see :class:`RebalancerPolicy`.
    :param max_moves_per_freed: see :class:`RebalancerPolicy`.
    :param watcher_overrides: {strategy: {parameter: value}}.
    :param objective, move_cost, risk_level, lead_steps: the
        rebalancer's objective (irra and oracle), see
        :class:`~irra_openstack.optimizer.rebalance.HostRebalancer`; with
        ``risk`` there is no consolidation.
    :param refit_steps: see :class:`RebalancerPolicy`; None for one day,
        0 to refit at every audit.
    :param hysteresis_steps, early_audits, scenarios, rise_steps: see
        :class:`RebalancerPolicy` (``rise_steps`` applies to irra only:
        the oracle plans on the whole actual future).
    :param forecaster_kwargs: extra arguments of irra's forecaster.
    :param forecaster_threads: threads of irra's forecaster's learned
        models (see :func:`make_forecaster`); None for the plugins' own
        default (one).
    """
    from irra_openstack.engine.peers import reactive
    from irra_openstack.engine.peers import watcher

    policies = {}
    for name in names:
        if name in policies:
            raise replay.ReplayError(reason="policy %s is listed twice"
                                     % name)
        try:
            if name in ('irra', 'oracle'):
                risk = objective == 'risk'
                rebalancer = rebalancer_factory(
                    threshold, consolidate and not risk,
                    time_limit=time_limit, objective=objective,
                    move_cost=move_cost, risk_level=risk_level,
                    lead_steps=lead_steps)
                if isinstance(rebalancer, Exception):
                    policies[name] = rebalancer
                    continue
                fixer = None
                if consolidate and min_freed > 0 and not risk:
                    fixer = rebalancer_factory(threshold, False,
                                               time_limit=time_limit)
                fc = None
                if name == 'irra':
                    fc = make_forecaster(step, horizon, name=forecaster,
                                         threads=forecaster_threads,
                                         **(forecaster_kwargs or {}))
                policies[name] = RebalancerPolicy(
                    name, rebalancer, horizon, audit_steps, forecaster=fc,
                    history_steps=history_steps, threshold=threshold,
                    fixer=fixer, min_freed=max(min_freed, 1),
                    host_intervals=host_intervals,
                    max_moves_per_freed=max_moves_per_freed,
                    objective=objective,
                    refit_steps=(max(1, 86400 // step)
                                 if refit_steps is None
                                 else refit_steps or None),
                    hysteresis_steps=hysteresis_steps,
                    early_audits=early_audits, scenarios=scenarios,
                    rise_steps=rise_steps if name == 'irra' else None)
            elif name == 'reactive':
                policies[name] = reactive.ThresholdMMT(
                    name, reactive_audit_steps, reactive_threshold)
            elif name == 'none':
                policies[name] = replay.NoMigration(name, audit_steps)
            elif name.startswith('watcher:'):
                strategy = name.split(':', 1)[1]
                policies[name] = watcher.WatcherPolicy(
                    strategy, watcher_audit_steps or audit_steps,
                    (watcher_overrides or {}).get(strategy))
            else:
                raise replay.ReplayError(
                    reason="unknown policy %r; known: irra, oracle, "
                           "reactive, none and watcher:<strategy> with a "
                           "strategy among %s"
                           % (name, ', '.join(sorted(watcher.STRATEGIES))))
        except watcher.WatcherMissing as exc:
            policies[name] = exc
    return policies
