"""Forecasts for VMs with little or no history, from similar VMs.

A new VM has no history of its own, but VMs of the same flavor, project
or application usually behave alike (Azure's Resource Central predicts a
new deployment's utilisation from its subscription's and its VM size's
past). :class:`PriorModel` learns, from the VMs that do have history, a
*profile* per group: for each phase of the season (for example each
5-minute slot of the day) the distribution of the normalised utilisation
of the group's VMs at that phase.

Profiles
--------
With ``u[v, t] = y[v, t] / c[v]`` the utilisation of VM ``v`` normalised
by its capacity ``c[v]`` (its vCPUs, its memory; 1 when the metric is
already a share, such as CPU %), and ``phi(t) = (t0 / step + t) mod P``
the phase of step ``t`` in a season of ``P`` steps, the profile of group
``g`` at phase ``p`` is the multiset

    U(g, p) = { u[v, t] : v in g, phi(t) = p, u[v, t] finite }.

Its median is the prior's point forecast, and its order statistics of the
split-conformal ranks ``k_lo = floor((n + 1) alpha / 2)`` and ``k_hi =
ceil((n + 1) (1 - alpha / 2))`` (see :func:`.conformal.ranks`, ``n =
|U(g, p)|``) are the bounds: if a new VM of the group is exchangeable
with the group's VMs, its utilisation at phase ``p`` falls between them
with probability at least ``level``. A phase with too few values for those
ranks gets the smallest and largest value, and the forecast says so.

Choosing the prior
------------------
The groups are tried in the configured order of preference (by default
``flavor``, then ``project``, then ``app``); the first group of the VM's
own label that has at least ``min_vms`` VMs with history is used, and when
there is none, the profile of all VMs. A VM with no usable prior at all
(no VM has history yet) gets ``cold_start`` with a zero-width interval and
``valid`` False. The ``reason`` of every cold-start forecast names the
prior, for example ``cold start: prior of flavor=m1.small (12 VMs)``.

Blending with the VM's own forecast
-----------------------------------
As a VM accumulates ``n`` finite values, its own forecast takes over
(:func:`blend`): with ``w = min(1, n / full_history)``,

    point = w * own.point + (1 - w) * prior.point,

and the same for each bound. A convex combination of two intervals is not
a guaranteed interval, but both ends move monotonically from the prior's
(valid for a random VM of the group) to the VM's own (calibrated on its
residuals, or borrowed from the pool while they are few).

Expected utilisation
--------------------
:meth:`PriorModel.expected_utilisation` (and the function
:func:`expected_utilisation`) give, per attribute and label, the mean
utilisation, the peak over the season of the profile's median and of its
upper bound, and the number of VMs learnt from, as a plain dict, for
consumers such as the Nova scheduler filter, which scales a request's
flavor by it.
"""

import numpy as np
from oslo_log import log as logging

from irra_openstack.forecast import base
from irra_openstack.forecast import conformal

LOG = logging.getLogger(__name__)

#: Default order of preference of the attributes priors are grouped by.
DEFAULT_ATTRIBUTES = ('flavor', 'project', 'app')
#: Default fewest VMs with history a group needs to be a prior.
DEFAULT_MIN_VMS = 3
#: Name of the group of all VMs, the last fallback.
ALL = 'all'


def _label(value):
    return None if value is None or value == '' else str(value)


class _Profiles(object):
    """The profiles of the groups of one attribute."""

    def __init__(self, labels, n_vms, lo, mid, hi, mean, short):
        self.labels = labels          # label -> group index
        self.n_vms = n_vms            # (G,)
        self.lo = lo                  # (G, P)
        self.mid = mid
        self.hi = hi
        self.mean = mean
        self.short = short            # (G,) some phase lacks the ranks


class PriorModel(object):
    """Per-group utilisation profiles learnt from VMs with history.

    :param step: seconds between steps.
    :param season: steps in the seasonal cycle (288 for a day of 5-minute
        steps); 0 for a flat profile.
    :param level: nominal coverage of the prior's interval.
    :param attributes: the attributes to group by, in order of preference.
    :param min_vms: fewest VMs with history for a group to be used.
    :param min_history: fewest finite values a VM needs to be learnt
        from; by default one season (at least one step).
    :param cold_start: the value forecast when there is no prior at all.
    :param full_history: finite values of its own after which a VM's own
        forecast has all the weight (:func:`blend`); by default
        ``min_history``.
    """

    def __init__(self, step, season=0, level=0.9,
                 attributes=DEFAULT_ATTRIBUTES, min_vms=DEFAULT_MIN_VMS,
                 min_history=None, cold_start=0.0, full_history=None):
        self.step = base._whole('step', step, 1)
        self.season = base._whole('season', season, 0)
        self.level = float(level)
        if not 0.0 < self.level < 1.0:
            raise base.ForecastError(
                reason="level must be between 0 and 1, got %r" % (level,))
        self.attributes = tuple(str(a) for a in attributes)
        if ALL in self.attributes:
            raise base.ForecastError(
                reason="'%s' is the implicit last prior; do not list it"
                % ALL)
        self.min_vms = base._whole('min_vms', min_vms, 1)
        self.n_phases = max(self.season, 1)
        self.min_history = (self.n_phases if min_history is None else
                            base._whole('min_history', min_history, 1))
        self.cold_start = base._finite('cold_start', cold_start)
        self.full_history = (self.min_history if full_history is None else
                             base._whole('full_history', full_history, 1))
        self.profiles = None
        self.capacity = None

    @classmethod
    def from_conf(cls, conf, cold_start=0.0):
        """The prior model of ``[forecast]`` and ``[forecast_learning]``.

        Seconds are converted to steps of ``[forecast] step``.
        """
        fc = conf.forecast
        opts = conf.forecast_learning
        return cls(fc.step, season=fc.season // fc.step, level=fc.level,
                   attributes=opts.cold_start_attributes,
                   min_vms=opts.cold_start_min_vms, cold_start=cold_start,
                   full_history=max(
                       1, opts.cold_start_full_history // fc.step))

    def __repr__(self):
        return '<PriorModel step=%ds season=%d by %s>' % (
            self.step, self.season, ','.join(self.attributes))

    def _phase(self, start, length):
        return (start // self.step + np.arange(length)) % self.n_phases

    def fit(self, history, start, attributes, capacity=None):
        """Learn the profiles.

        :param history: float array (series, T); NaN for missing.
        :param start: time of ``history[:, 0]``, seconds.
        :param attributes: per series, a mapping of attribute -> label
            (such as ``MetricFrame.attributes[resource]``).
        :param capacity: optional float array (series,) to normalise by;
            a VM with a missing or non-positive capacity is not learnt
            from.
        :returns: self.
        """
        history = np.array(history, dtype=np.float64, ndmin=2)
        n_series, length = history.shape
        if len(attributes) != n_series:
            raise base.ForecastError(
                reason="%d attribute mappings for %d series"
                % (len(attributes), n_series))
        if capacity is None:
            cap = np.ones(n_series)
        else:
            cap = np.asarray(capacity, dtype=np.float64).reshape(n_series)
        ok_cap = np.isfinite(cap) & (cap > 0)
        with np.errstate(invalid='ignore', divide='ignore',
                         over='ignore'):
            util = history / np.where(ok_cap, cap, 1.0)[:, None]
        finite = np.isfinite(util) & ok_cap[:, None]
        learnt = finite.sum(axis=1) >= self.min_history
        self.capacity = float(np.median(cap[ok_cap])) if ok_cap.any() \
            else 1.0
        LOG.debug('Cold-start priors: learning from %d of %d series',
                  int(learnt.sum()), n_series)

        cells = finite & learnt[:, None]
        rows, cols = np.nonzero(cells)
        values = util[rows, cols]
        phase = self._phase(int(start), length)[cols]
        # Sort by value once; each grouping then sorts its integer keys
        # stably, which keeps the values sorted within each key.
        order = np.argsort(values, kind='stable')
        values, rows, phase = values[order], rows[order], phase[order]

        self.profiles = {}
        for attr in self.attributes + (ALL,):
            if attr == ALL:
                names = ['*'] if learnt.any() else []
                gid = np.where(learnt, 0, -1)
            else:
                labels = [_label(dict(a).get(attr)) for a in attributes]
                names = sorted(set(lab for lab, ok in zip(labels, learnt)
                                   if ok and lab is not None))
                index = {name: i for i, name in enumerate(names)}
                gid = np.array([index.get(lab, -1) for lab in labels],
                               dtype=np.int64)
            self.profiles[attr] = self._group_profiles(
                names, gid, learnt, values, rows, phase)
        return self

    def _group_profiles(self, names, gid, learnt, values, rows, phase):
        n_groups, n_phases = len(names), self.n_phases
        shape = (n_groups, n_phases)
        n_vms = np.bincount(gid[learnt & (gid >= 0)],
                            minlength=n_groups)[:n_groups]
        group = gid[rows]
        keep = group >= 0
        key = group[keep] * n_phases + phase[keep]
        vals = values[keep]
        order = np.argsort(key, kind='stable')
        key, vals = key[order], vals[order]
        count = np.bincount(key, minlength=n_groups * n_phases)
        total = np.bincount(key, weights=vals,
                            minlength=n_groups * n_phases)
        first = np.concatenate(([0], np.cumsum(count)[:-1]))
        alpha = 1.0 - self.level
        k_lo, k_hi = conformal.ranks(count, alpha)
        short = k_lo < 1
        top = np.maximum(count - 1, 0)
        k_lo = np.clip(k_lo - 1, 0, top)
        k_hi = np.clip(k_hi - 1, 0, top)
        k_mid = top // 2

        def pick(k):
            if vals.size == 0:
                return np.full(count.shape, np.nan)
            out = vals[np.minimum(first + k, vals.size - 1)]
            return np.where(count > 0, out, np.nan)

        with np.errstate(invalid='ignore', divide='ignore'):
            mean = np.where(count > 0, total / np.maximum(count, 1),
                            np.nan)
        mid = pick(k_mid)
        if vals.size:
            upper_mid = vals[np.minimum(first + top - k_mid,
                                        vals.size - 1)]
            mid = np.where(count > 0, 0.5 * (mid + upper_mid), np.nan)
        lo, hi = pick(k_lo), pick(k_hi)
        empty_phase = (count == 0).reshape(shape)
        usable = (n_vms >= self.min_vms) & ~empty_phase.any(axis=1)
        labels = {name: i for i, name in enumerate(names) if usable[i]}
        return _Profiles(labels, n_vms, lo.reshape(shape),
                         mid.reshape(shape), hi.reshape(shape),
                         mean.reshape(shape),
                         short.reshape(shape).any(axis=1))

    def _check_fitted(self):
        if self.profiles is None:
            raise base.ForecastError(
                reason="the prior model is not fitted; call fit() first")

    def choose(self, attributes):
        """The prior of each VM: ``(attribute, label, group index)``.

        :param attributes: per VM, a mapping attribute -> label.
        :returns: a list, per VM, of that tuple, or None when there is no
            prior at all.
        """
        self._check_fitted()
        chosen = []
        for attrs in attributes:
            attrs = dict(attrs or {})
            pick = None
            for attr in self.attributes + (ALL,):
                label = '*' if attr == ALL else _label(attrs.get(attr))
                index = self.profiles[attr].labels.get(label)
                if index is not None:
                    pick = (attr, label, index)
                    break
            chosen.append(pick)
        return chosen

    def forecast(self, start, horizon, series, attributes, capacity=None,
                 metric=None):
        """The prior forecast of ``series`` for ``horizon`` steps.

        :param start: time of the first forecast step.
        :param series: identifiers of the VMs.
        :param attributes: per VM, a mapping attribute -> label.
        :param capacity: optional float array (series,) to scale the
            normalised profile back by (when the model was fitted with
            capacities); a missing one is the median capacity learnt
            from, and the reason says so.
        :returns: a :class:`.base.Forecast` (model ``'prior'``).
        """
        self._check_fitted()
        start = base._whole('start', start, None)
        horizon = base._whole('horizon', horizon, 1)
        n_series = len(series)
        if len(attributes) != n_series:
            raise base.ForecastError(
                reason="%d attribute mappings for %d series"
                % (len(attributes), n_series))
        if capacity is None:
            cap = np.ones(n_series)
            cap_missing = np.zeros(n_series, dtype=bool)
        else:
            cap = np.asarray(capacity, dtype=np.float64).reshape(n_series)
            cap_missing = ~(np.isfinite(cap) & (cap > 0))
            cap = np.where(cap_missing, self.capacity, cap)
        phase = self._phase(start, horizon)
        point = np.full((n_series, horizon), self.cold_start)
        lower, upper = point.copy(), point.copy()
        valid = np.zeros(n_series, dtype=bool)
        reason = np.full(n_series, '', dtype=object)
        chosen = self.choose(attributes)
        used = {}
        for attr in self.attributes + (ALL,):
            prof = self.profiles[attr]
            rows = [i for i, c in enumerate(chosen)
                    if c is not None and c[0] == attr]
            if not rows:
                continue
            rows = np.array(rows)
            gids = np.array([chosen[i][2] for i in rows])
            scale = cap[rows, None]
            point[rows] = prof.mid[gids][:, phase] * scale
            lower[rows] = prof.lo[gids][:, phase] * scale
            upper[rows] = prof.hi[gids][:, phase] * scale
            valid[rows] = True
            for i in rows:
                label, gid = chosen[i][1], chosen[i][2]
                text = 'cold start: prior of %s (%d VMs)' % (
                    'all VMs' if attr == ALL else '%s=%s' % (attr, label),
                    prof.n_vms[gid])
                if prof.short[gid]:
                    text += '; too few values for the nominal level'
                reason[i] = text
            used[attr] = len(rows)
        none = ~valid
        reason[none] = ('cold start: no VM with history to learn a prior '
                        'from; the cold-start value %g is used'
                        % self.cold_start)
        fallback = valid & cap_missing
        reason[fallback] = reason[fallback] + (
            '; capacity unknown: median capacity %g used' % self.capacity)
        point, lower, upper = _sane(point, lower, upper, self.cold_start)
        if n_series:
            LOG.info('Cold-start forecast of %d series: %s%s', n_series,
                     ', '.join('%d by %s' % (n, a) for a, n in used.items())
                     or 'no prior', ', %d without any prior'
                     % int(none.sum()) if none.any() else '')
        return base.Forecast(
            series=series, metric=metric, start=start, step=self.step,
            level=self.level, point=point, lower=lower, upper=upper,
            valid=valid, reason=tuple(reason), model='prior')

    def expected_utilisation(self):
        """Expected normalised utilisation per attribute and label.

        :returns: ``{attribute: {label: {'mean': .., 'median_peak': ..,
            'upper_peak': .., 'n_vms': ..}}}`` with plain floats and ints,
            over the usable groups; the group of all VMs is
            ``result['all']['*']``. ``mean`` is the mean utilisation over
            the season, ``median_peak`` the highest median of a phase and
            ``upper_peak`` the highest upper bound (at the level).
        """
        self._check_fitted()
        result = {}
        for attr, prof in self.profiles.items():
            entry = {}
            for label, gid in sorted(prof.labels.items()):
                entry[label] = {
                    'mean': float(np.mean(prof.mean[gid])),
                    'median_peak': float(np.max(prof.mid[gid])),
                    'upper_peak': float(np.max(prof.hi[gid])),
                    'n_vms': int(prof.n_vms[gid]),
                }
            result[attr] = entry
        return result


def _sane(point, lower, upper, fill):
    """Finite values with ``lower <= point <= upper``."""
    big = np.finfo(np.float64).max
    point = np.clip(np.nan_to_num(point, nan=fill), -big, big)
    lower = np.nan_to_num(lower, nan=-big, posinf=big, neginf=-big)
    upper = np.nan_to_num(upper, nan=big, posinf=big, neginf=-big)
    return point, np.minimum(lower, point), np.maximum(upper, point)


def blend(own, prior, n_own, full_history):
    """Move from the prior to the VM's own forecast as history grows.

    :param own: the :class:`.base.Forecast` from the VM's own history.
    :param prior: the prior's forecast of the same series and steps.
    :param n_own: int array (series,): finite values of own history.
    :param full_history: values at which the own forecast has all the
        weight.
    :returns: a :class:`.base.Forecast`; series with any prior weight say
        so in ``reason``.
    """
    if (own.series != prior.series or own.point.shape != prior.point.shape
            or own.start != prior.start or own.step != prior.step):
        raise base.ForecastError(
            reason="the own and prior forecasts must cover the same "
                   "series and steps")
    full = max(int(full_history), 1)
    n_own = np.asarray(n_own, dtype=np.float64).reshape(own.n_series)
    weight = np.clip(np.nan_to_num(n_own) / full, 0.0, 1.0)
    # An invalid own forecast (no data) never has weight.
    weight = np.where(own.valid, weight, 0.0)
    w = weight[:, None]
    point = w * own.point + (1.0 - w) * prior.point
    lower = w * own.lower + (1.0 - w) * prior.lower
    upper = w * own.upper + (1.0 - w) * prior.upper
    point, lower, upper = _sane(point, lower, upper, 0.0)
    reason = []
    for i in range(own.n_series):
        if weight[i] >= 1.0:
            reason.append(own.reason[i])
        elif weight[i] <= 0.0:
            reason.append(prior.reason[i])
        else:
            text = '%s (%d%% prior, %d of %d values of own history)' % (
                prior.reason[i], round(100 * (1 - weight[i])),
                n_own[i], full)
            if own.reason[i]:
                text += '; ' + own.reason[i]
            reason.append(text)
    valid = np.where(weight > 0, own.valid | prior.valid, prior.valid)
    return base.Forecast(
        series=own.series, metric=own.metric, start=own.start,
        step=own.step, level=own.level, point=point, lower=lower,
        upper=upper, valid=valid, reason=tuple(reason), model=own.model)


def cold_start_forecast(forecaster, priors, history, start, series,
                        attributes, capacity=None, metric=None,
                        full_history=None):
    """Forecast every series, with priors for the ones with little history.

    :param forecaster: a :class:`.base.Forecaster`; it is fitted on
        ``history``.
    :param priors: a fitted :class:`PriorModel` with the same step.
    :param history: float array (series, T).
    :param start: time of ``history[:, 0]``.
    :param full_history: finite values from which a series' own forecast
        has all the weight; by default the prior's ``full_history``.
    :returns: the blended :class:`.base.Forecast`.
    """
    if priors.step != forecaster.step:
        raise base.ForecastError(
            reason="the priors have %ds steps, the forecaster %ds"
            % (priors.step, forecaster.step))
    history = forecaster._check_history(history)
    forecaster.fit(history, start)
    own = forecaster.predict(history, start, series=series, metric=metric)
    prior = priors.forecast(own.start, own.horizon, own.series, attributes,
                            capacity=capacity, metric=metric)
    n_own = np.isfinite(history).sum(axis=1)
    if full_history is None:
        full_history = priors.full_history
    return blend(own, prior, n_own, full_history)


def expected_utilisation(history, start, step, attributes, capacity=None,
                         season=0, level=0.9, by=DEFAULT_ATTRIBUTES,
                         min_vms=DEFAULT_MIN_VMS, min_history=None):
    """Expected utilisation per flavor, project and application.

    Fits a :class:`PriorModel` with these arguments and returns its
    :meth:`PriorModel.expected_utilisation`.
    """
    model = PriorModel(step, season=season, level=level, attributes=by,
                       min_vms=min_vms, min_history=min_history)
    return model.fit(history, start, attributes,
                     capacity=capacity).expected_utilisation()
