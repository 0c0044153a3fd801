"""Overcommit policy: allocation ratios from the forecast's risk.

For each host and resource class, the highest Placement allocation ratio
such that, with the host filled up to it by VMs like the ones it runs,
the probability that their actual usage exceeds the physical capacity is
at most a *risk budget*.

From intervals to a distribution
--------------------------------
A forecast gives, per series and step, a point ``p`` and an interval
``[lower, upper]`` calibrated (conformal) to cover ``level``; its upper
bound is the ``(1 + level) / 2`` quantile. The upper tail is taken as
normal with that quantile: ``sigma = (upper - p) / z((1 + level) / 2)``.
Only the upper tail matters here, so a skewed interval is handled by
using its upper half only.

From VMs to a host
------------------
The best input is the host's own forecast (``host_point``,
``host_upper``), as :mod:`irra_openstack.forecast.hierarchy` makes it:
its interval is calibrated on the host's own residuals, so it already
holds whatever correlation the VMs have. Without it, the VMs' tails are
combined with a correlation ``rho`` between every pair of VMs::

    mean  = sum_v p_v
    var   = (1 - rho) * sum_v sigma_v ** 2 + rho * (sum_v sigma_v) ** 2

``rho = 1`` is the sum of the upper bounds (safe, wasteful), ``rho = 0``
independence (tight, unsafe when the VMs share a daily cycle); the
default 0.5 sits between. The sums are one ``bincount`` over all VMs.

From the distribution to a ratio
--------------------------------
Let ``A`` be what the host's VMs allocate (their flavors), ``C`` its
physical capacity less Placement's ``reserved``, and ``D`` their usage.
Filling the host to ratio ``r`` means allocating ``r * C``; with VMs like
the present ones, usage scales to ``D * r * C / A``. The risk is
``P(D * r * C / A > C) = P(D > A / r)``, at most ``eps`` when ``r <= A /
q(1 - eps)``, with ``q(1 - eps) = mean + z(1 - eps) * sigma`` taken at
the horizon step where it is highest. The ratio is clipped to
``[min_allocation_ratio, max_allocation_ratios[class]]``; the risk
reported for each decision is the probability at the chosen ratio (so it
is above the budget only when the minimum ratio forces it, and the reason
says so). A host without VMs or forecasts takes the lowest ratio of its
aggregates' hosts, else keeps its ratio.

Risk budgets
------------
The budget of a host is the smallest of: the default budget, the budget
of each of its aggregates (``aggregate_risk_budgets``), and the budget of
the SLA tier of each VM it runs (``tier_risk_budgets``). Each can be
overridden per call.
"""

import numpy as np
from oslo_config import cfg
from oslo_log import log as logging
from scipy import stats

from irra_openstack.db import constants
from irra_openstack import exception
from irra_openstack.optimizer import actions
from irra_openstack.optimizer import model as cluster_model
from irra_openstack import plugins

LOG = logging.getLogger(__name__)

#: Action type of a change of allocation ratio (an executor plugin's).
SET_ALLOCATION_RATIO = 'x-set-allocation-ratio'

DEFAULT_MAX_RATIOS = {'VCPU': 16.0, 'MEMORY_MB': 1.5, 'DISK_GB': 1.0}


class OvercommitError(exception.IrraError):
    msg_fmt = "Invalid overcommit request: %(reason)s"


def _budget(what, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise OvercommitError(reason="%s must be a number, got %r"
                              % (what, value))
    if not 0.0 < value < 0.5:
        raise OvercommitError(reason="%s must be a probability between 0 "
                              "and 0.5 (exclusive), e.g. 0.01; got %r"
                              % (what, value))
    return value


def _budgets(what, mapping):
    return {str(k): _budget('the risk budget of %s %s' % (what, k), v)
            for k, v in (mapping or {}).items()}


def host_forecasts(forecasts, host_names):
    """(H, T, R) point and upper arrays from host-level Forecasts.

    :param forecasts: ``{resource class: Forecast}`` with one series per
        host (named by hypervisor hostname), for example the ``host``
        level of :mod:`irra_openstack.forecast.hierarchy`. A class of
        :data:`~irra_openstack.optimizer.model.RESOURCE_CLASSES` without a
        forecast gets a zero-width forecast at 0 (no usage known).
    :returns: ``(point, upper, level)`` for :meth:`OvercommitPolicy.plan`.
    :raises OvercommitError: the forecasts disagree on level or horizon,
        or a host has no series.
    """
    classes = cluster_model.RESOURCE_CLASSES
    given = [forecasts[c] for c in classes if c in forecasts]
    if not given:
        raise OvercommitError(reason="no forecast of any of %s"
                              % ', '.join(classes))
    levels = {fc.level for fc in given}
    horizons = {fc.horizon for fc in given}
    if len(levels) > 1 or len(horizons) > 1:
        raise OvercommitError(reason="the forecasts must share one level "
                              "and horizon; got levels %s and horizons %s"
                              % (sorted(levels), sorted(horizons)))
    horizon = horizons.pop()
    point = np.zeros((len(host_names), horizon, len(classes)))
    upper = np.zeros_like(point)
    for j, rc in enumerate(classes):
        fc = forecasts.get(rc)
        if fc is None:
            continue
        index = {name: i for i, name in enumerate(fc.series)}
        missing = [h for h in host_names if h not in index]
        if missing:
            raise OvercommitError(
                reason="the forecast of %s has no series for hosts %s"
                       % (rc, ', '.join(missing[:5]) +
                          (', ...' if len(missing) > 5 else '')))
        rows = np.array([index[h] for h in host_names], dtype=np.int64)
        point[:, :, j] = fc.point[rows]
        upper[:, :, j] = fc.upper[rows]
    return point, upper, levels.pop()


class OvercommitPolicy(plugins.Plugin):
    """Allocation ratios bounded by a risk budget, per host and class.

    :param risk_budget: default largest P(usage > capacity) per host,
        class and step.
    :param aggregate_risk_budgets: ``{aggregate: budget}``.
    :param tier_risk_budgets: ``{SLA tier: budget}``.
    :param correlation: correlation assumed between the VMs of a host
        when only VM forecasts are given.
    :param min_allocation_ratio: the lowest ratio proposed.
    :param max_allocation_ratios: ``{class: highest ratio}``.
    :param ratio_tolerance: a change of ratio smaller than this is not
        proposed as an action (it is still in the summary).
    """

    name = 'overcommit'
    description = ('Allocation ratios up to a risk budget of '
                   'P(usage > capacity), from calibrated forecasts.')

    def __init__(self, risk_budget=0.01, aggregate_risk_budgets=None,
                 tier_risk_budgets=None, correlation=0.5,
                 min_allocation_ratio=1.0, max_allocation_ratios=None,
                 ratio_tolerance=0.05):
        self.risk_budget = _budget('the risk budget', risk_budget)
        self.aggregate_risk_budgets = _budgets('aggregate',
                                               aggregate_risk_budgets)
        self.tier_risk_budgets = _budgets('tier', tier_risk_budgets)
        self.correlation = float(correlation)
        if not 0.0 <= self.correlation <= 1.0:
            raise OvercommitError(reason="correlation must be between 0 "
                                  "and 1, got %r" % (correlation,))
        self.min_allocation_ratio = float(min_allocation_ratio)
        if not self.min_allocation_ratio > 0:
            raise OvercommitError(reason="min_allocation_ratio must be "
                                  "positive")
        ratios = dict(DEFAULT_MAX_RATIOS)
        ratios.update({str(k): float(v)
                       for k, v in (max_allocation_ratios or {}).items()})
        for rc, value in ratios.items():
            if not value >= self.min_allocation_ratio:
                raise OvercommitError(
                    reason="the highest ratio of %s (%r) is below "
                           "min_allocation_ratio (%r)"
                           % (rc, value, self.min_allocation_ratio))
        self.max_allocation_ratios = ratios
        self.ratio_tolerance = float(ratio_tolerance)

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.FloatOpt('risk_budget', default=0.01, min=0.0, max=0.5,
                         help='Largest probability, per host, resource '
                              'class and forecast step, that the usage of '
                              'the VMs exceeds the physical capacity when '
                              'the host is filled up to the proposed '
                              'allocation ratio.'),
            cfg.DictOpt('aggregate_risk_budgets', default={},
                        help='Risk budgets of host aggregates, as '
                             'AGGREGATE:BUDGET pairs; a host in an '
                             'aggregate gets at most its budget.'),
            cfg.DictOpt('tier_risk_budgets', default={},
                        help='Risk budgets of SLA tiers, as TIER:BUDGET '
                             'pairs, e.g. "gold:0.001,bronze:0.05"; a '
                             'host running a VM of a tier gets at most '
                             'its budget.'),
            cfg.FloatOpt('correlation', default=0.5, min=0.0, max=1.0,
                         help='Correlation assumed between the usages of '
                              'the VMs of a host when no host-level '
                              'forecast is given: 1 adds their upper '
                              'bounds, 0 treats them as independent.'),
            cfg.FloatOpt('min_allocation_ratio', default=1.0, min=0.0,
                         help='Lowest allocation ratio the policy '
                              'proposes.'),
            cfg.DictOpt('max_allocation_ratios',
                        default={k: str(v)
                                 for k, v in DEFAULT_MAX_RATIOS.items()},
                        help='Highest allocation ratio per resource '
                             'class, as CLASS:RATIO pairs.'),
            cfg.FloatOpt('ratio_tolerance', default=0.05, min=0.0,
                         help='Smallest change of an allocation ratio that '
                              'is proposed as an action.'),
        ]

    @classmethod
    def from_conf(cls, group):
        """Build from the plugin's option group."""
        return cls(**{opt.dest: getattr(group, opt.dest)
                      for opt in cls.get_config_opts()})

    def __repr__(self):
        return '<OvercommitPolicy budget=%g rho=%g>' % (self.risk_budget,
                                                        self.correlation)

    # -- the distribution of host usage -------------------------------------

    def host_distribution(self, model, level, host_point=None,
                          host_upper=None):
        """Mean and upper-tail sigma of each host's usage, (H, T, R) each.

        See the module doc for how VM forecasts are combined.
        """
        level = float(level)
        if not 0.0 < level < 1.0:
            raise OvercommitError(reason="level must be between 0 and 1, "
                                  "got %r" % (level,))
        z = stats.norm.ppf((1.0 + level) / 2.0)
        shape = (model.n_hosts, model.horizon, len(
            cluster_model.RESOURCE_CLASSES))
        if (host_point is None) != (host_upper is None):
            raise OvercommitError(reason="give both host_point and "
                                  "host_upper, or neither")
        if host_point is not None:
            mean = np.asarray(host_point, dtype=float)
            upper = np.asarray(host_upper, dtype=float)
            for name, arr in (('host_point', mean), ('host_upper', upper)):
                if arr.shape != shape:
                    raise OvercommitError(reason="%s has shape %s, "
                                          "expected %s" % (name, arr.shape,
                                                           shape))
                if not np.all(np.isfinite(arr)):
                    raise OvercommitError(reason="%s holds NaN or infinite "
                                          "values" % name)
            return mean, np.maximum(upper - mean, 0.0) / z
        placed = model.vm_host >= 0
        hosts = model.vm_host[placed]
        point = model.usage_point[placed]
        sigma = np.maximum(model.usage_upper[placed] - point, 0.0) / z
        flat = shape[1] * shape[2]

        def per_host(values):
            out = np.zeros((shape[0], flat))
            np.add.at(out, hosts, values.reshape(len(hosts), flat))
            return out.reshape(shape)

        rho = self.correlation
        mean = per_host(point)
        var = ((1 - rho) * per_host(sigma ** 2) +
               rho * per_host(sigma) ** 2)
        return mean, np.sqrt(var)

    # -- budgets ------------------------------------------------------------

    def host_budgets(self, model, vm_tier=None, risk_budget=None,
                     aggregate_risk_budgets=None, tier_risk_budgets=None):
        """(H,) risk budget of each host, and (H,) where it came from."""
        default = (self.risk_budget if risk_budget is None
                   else _budget('the risk budget', risk_budget))
        by_agg = dict(self.aggregate_risk_budgets)
        by_agg.update(_budgets('aggregate', aggregate_risk_budgets))
        by_tier = dict(self.tier_risk_budgets)
        by_tier.update(_budgets('tier', tier_risk_budgets))
        h = model.n_hosts
        budget = np.full(h, default)
        source = ['default'] * h
        for i, aggs in enumerate(model.host_aggregates):
            for agg in aggs or ():
                if agg in by_agg and by_agg[agg] < budget[i]:
                    budget[i] = by_agg[agg]
                    source[i] = 'aggregate %s' % agg
        if vm_tier is not None:
            tiers = np.asarray(vm_tier, dtype=object).reshape(-1)
            if tiers.size != model.n_vms:
                raise OvercommitError(reason="vm_tier has %d entries for "
                                      "%d VMs" % (tiers.size, model.n_vms))
            unique, inv = np.unique(tiers.astype(str), return_inverse=True)
            per_tier = np.array([by_tier.get(t, np.inf) for t in unique])
            vm_budget = per_tier[inv.reshape(-1)]
            placed = model.vm_host >= 0
            tier_budget = np.full(h, np.inf)
            np.minimum.at(tier_budget, model.vm_host[placed],
                          vm_budget[placed])
            lower = tier_budget < budget
            for i in np.nonzero(lower)[0]:
                budget[i] = tier_budget[i]
                source[i] = 'SLA tier'
        return budget, source

    # -- the plan -----------------------------------------------------------

    def plan(self, model, level, host_point=None, host_upper=None,
             vm_tier=None, risk_budget=None, aggregate_risk_budgets=None,
             tier_risk_budgets=None, salt=None):
        """Allocation ratios for ``model`` (a ClusterModel).

        :param level: coverage of the forecasts' intervals.
        :param host_point, host_upper: (H, T, R) host-level forecasts,
            preferred over combining the VMs' (see the module doc).
        :param vm_tier: (V,) SLA tier of each VM, for the tier budgets.
        :param risk_budget, aggregate_risk_budgets, tier_risk_budgets:
            per-call overrides of the configured budgets.
        :returns: a PlanResult: one ``x-set-allocation-ratio`` action per
            host whose ratio changes by more than the tolerance; summary
            with ``ratio``, ``risk`` (at the proposed ratio), ``risk_now``
            (at the present allocation), ``budget`` and per-aggregate
            ratios.
        """
        classes = cluster_model.RESOURCE_CLASSES
        mean, sigma = self.host_distribution(model, level, host_point,
                                             host_upper)
        budget, source = self.host_budgets(
            model, vm_tier, risk_budget, aggregate_risk_budgets,
            tier_risk_budgets)
        base = np.maximum(model.capacity - model.reserved, 0.0)   # (H, R)
        allocated = model.host_allocated()                        # (H, R)
        z = stats.norm.isf(budget)[:, None, None]                 # (H,1,1)
        quantile = (mean + z * sigma).max(axis=1)                 # (H, R)
        known = (allocated > 0) & (quantile > 0)
        ratio = np.divide(allocated, quantile, out=np.zeros_like(quantile),
                          where=known)
        lo = self.min_allocation_ratio
        hi = np.array([self.max_allocation_ratios.get(c, np.inf)
                       for c in classes])
        # Hosts without information: the lowest ratio of their
        # aggregates' informed hosts, else unchanged.
        agg_ratio = {}
        for i, aggs in enumerate(model.host_aggregates):
            for agg in aggs or ():
                entry = agg_ratio.setdefault(agg, np.full(len(classes),
                                                          np.inf))
                np.minimum(entry, np.where(known[i], ratio[i], np.inf),
                           out=entry)
        fallback = np.full_like(ratio, np.inf)
        for i, aggs in enumerate(model.host_aggregates):
            for agg in aggs or ():
                np.minimum(fallback[i], agg_ratio[agg], out=fallback[i])
        ratio = np.where(known, ratio,
                         np.where(np.isfinite(fallback), fallback,
                                  model.allocation_ratio))
        ratio = np.clip(ratio, lo, hi[None, :])
        ratio = np.where(known | np.isfinite(fallback), ratio,
                         model.allocation_ratio)
        risk = self._risk(mean, sigma, allocated, ratio)
        risk_now = self._exceed(mean, sigma, base)
        result = actions.PlanResult()
        change = np.abs(ratio - model.allocation_ratio) > self.ratio_tolerance
        for i in np.nonzero(change.any(axis=1))[0].tolist():
            cols = np.nonzero(change[i])[0].tolist()
            forced = [classes[j] for j in cols
                      if risk[i, j] > budget[i] * (1 + 1e-6)]
            reason = {
                'forecast': {classes[j]: {
                    'point': float(mean[i, :, j].max()),
                    'upper_at_budget': float(quantile[i, j]),
                    'allocated': float(allocated[i, j]),
                    'level': float(level)} for j in cols},
                'constraint': ('P(usage > physical capacity) <= %g per '
                               'step (budget from %s)'
                               % (budget[i], source[i])),
                'benefit': {classes[j]: float(
                    (ratio[i, j] - model.allocation_ratio[i, j]) *
                    base[i, j]) for j in cols},
                'risk': {classes[j]: float(risk[i, j]) for j in cols},
                'risk_now': {classes[j]: float(risk_now[i, j])
                             for j in cols},
                'risk_budget': float(budget[i]),
            }
            if forced:
                reason['warning'] = (
                    'even at the lowest allowed ratio %g, %s exceed the '
                    'risk budget on this host: move load away'
                    % (lo, ', '.join(forced)))
            action = actions.PlannedAction(
                action_type=SET_ALLOCATION_RATIO,
                resource_id=model.host_names[i],
                resource_kind=constants.ResourceKind.HOST,
                reason=reason,
                parameters={'allocation_ratio': {
                    classes[j]: float(ratio[i, j]) for j in cols}})
            if salt is not None:
                action.with_key(salt)
            result.actions.append(action)
        result.summary = {
            'host_names': list(model.host_names),
            'resource_classes': list(classes),
            'ratio': ratio, 'risk': risk, 'risk_now': risk_now,
            'budget': budget, 'budget_source': source,
            'aggregate_ratio': {
                agg: {c: float(np.clip(v[j], lo, hi[j]))
                      for j, c in enumerate(classes) if np.isfinite(v[j])}
                for agg, v in agg_ratio.items()},
            'max_risk': float(risk.max()) if risk.size else 0.0,
        }
        LOG.debug('Overcommit: %d hosts, %d ratio changes',
                  model.n_hosts, len(result.actions))
        return result

    @staticmethod
    def _exceed(mean, sigma, limit):
        """(H, R) max over steps of P(usage > limit), limit (H, R)."""
        lim = limit[:, None, :]
        with np.errstate(divide='ignore', invalid='ignore'):
            p = stats.norm.sf((lim - mean) / sigma)
        p = np.where(sigma > 0, p, (mean > lim + 1e-12).astype(float))
        return p.max(axis=1) if p.shape[1] else np.zeros(limit.shape)

    def _risk(self, mean, sigma, allocated, ratio):
        """(H, R) risk at ``ratio``: P(usage > allocated / ratio)."""
        limit = np.divide(allocated, ratio, out=np.full_like(ratio, np.inf),
                          where=ratio > 0)
        risk = self._exceed(mean, sigma, limit)
        return np.where(allocated > 0, risk, 0.0)
