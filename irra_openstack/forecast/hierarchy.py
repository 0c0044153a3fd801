"""Forecasts of hosts, applications and regions from the forecasts of VMs.

The levels
----------
Level 0 is the VM series a forecaster forecast. Each upper level (``host``,
``app``, ``region``) groups them: a VM belongs to at most one group of each
level. A level is a sparse 0/1 matrix ``A`` (groups x VMs) with
``A[g, v] = 1`` when VM ``v`` is in group ``g``; all levels are stacked in
one CSR matrix, so every aggregation below is one sparse product for all
groups of all levels at once.

Points
------
The point forecast of a group is the sum of its children's points,
``P_g = sum_v A[g, v] p_v`` (bottom-up): the forecasts of the levels are
coherent, a region's forecast is the sum of its hosts'.

Intervals: why not sum the bounds
---------------------------------
Quantiles do not add. For independent children the sum of their upper
``1 - alpha/2`` quantiles is far above the same quantile of the sum (the
spread of a sum of ``K`` independent terms grows like ``sqrt(K)``, a sum of
quantiles like ``K``): the interval over-covers and wastes capacity. The
opposite shortcut, adding half-widths in quadrature as if the children
were independent, under-covers as soon as the children share a common
factor (a diurnal load that all VMs of an application see, a region-wide
surge), which is the normal case.

Intervals: what is done here
----------------------------
The aggregate is calibrated on its *own* back-test residuals, exactly as a
single series is (:mod:`.conformal`). From every back-test origin ``o`` and
horizon step ``h`` the children's signed residuals
``r_v(o, h) = y_v(o + h) - yhat_v(o, h)`` are summed:

    R_g(o, h) = sum_v A[g, v] r_v(o, h)
              = (sum_v y_v(o + h)) - (sum_v yhat_v(o, h)),

which is the residual of the aggregate point forecast against the
aggregate actual. The interval of group ``g`` at step ``h`` is then
``[P_g + R_(k_lo), P_g + R_(k_hi)]`` with the finite-sample split-conformal
ranks of :func:`.conformal.ranks`. This is valid by construction under the
usual exchangeability of residuals over origins: it does not assume
anything about the dependence between children, because the sum already
contains whatever correlation they have. A group with too few residuals
borrows the scaled pooled interval of all groups (as in :mod:`.conformal`).

Missing children values
-----------------------
A child's residual is missing where the child had no forecast or no actual
(it did not exist yet, it had stopped, or its telemetry had a gap). It then
contributes 0 to ``R_g``: right for a VM that did not run, a slight
under-statement for a gap. An aggregate cell where every child is missing
is left out of the calibration. The share of missing child residuals is
logged.

Robustness
----------
* A group without any child series (for example a region listed in the
  mapping with no VM reporting): point, lower and upper 0, ``valid`` False,
  ``reason`` says so.
* A group with invalid children (cold-start values): ``valid`` when at
  least one child is valid; ``reason`` counts the invalid ones.
* A non-finite child point (never produced by :class:`.base.Forecaster`,
  but a caller may build a Forecast by hand) counts as 0, with a reason.
* The output keeps the :class:`.base.Forecast` invariants: finite, and
  ``lower <= point <= upper``.
"""

import collections

import numpy as np
from oslo_log import log as logging
from scipy import sparse

from irra_openstack.forecast import base
from irra_openstack.forecast import conformal

LOG = logging.getLogger(__name__)

#: The levels above the VMs, bottom to top.
LEVELS = ('host', 'app', 'region')

_BIG = np.finfo(np.float64).max


class Hierarchy(object):
    """How level-0 series (VMs) sum into hosts, applications and regions.

    :param series: identifiers of the level-0 series, in the order of the
        rows of the forecasts and histories that will be aggregated.
    :param vm_host: mapping VM -> host.
    :param vm_app: mapping VM -> application.
    :param host_region: mapping host -> region.
    :param vm_region: mapping VM -> region; takes precedence over
        ``host_region`` for the VMs it names.
    :param groups: optional mapping level -> names of groups that must
        appear in the output even without children (for example every
        region of the cloud); they get the defined "no data" result.

    A VM missing from a mapping is left out of that level (logged).
    """

    def __init__(self, series, vm_host=None, vm_app=None, host_region=None,
                 vm_region=None, groups=None):
        self.series = tuple(str(s) for s in series)
        n_series = len(self.series)
        vm_host = {str(k): str(v) for k, v in (vm_host or {}).items()}
        vm_app = {str(k): str(v) for k, v in (vm_app or {}).items()}
        host_region = {str(k): str(v)
                       for k, v in (host_region or {}).items()}
        vm_region = {str(k): str(v) for k, v in (vm_region or {}).items()}
        groups = groups or {}

        region_of = {}
        for vm in self.series:
            if vm in vm_region:
                region_of[vm] = vm_region[vm]
            elif vm in vm_host and vm_host[vm] in host_region:
                region_of[vm] = host_region[vm_host[vm]]
        parents = {'host': vm_host, 'app': vm_app, 'region': region_of}

        #: level -> (group names, CSR matrix groups x series)
        self.levels = collections.OrderedDict()
        for level in LEVELS:
            mapping = parents[level]
            extra = [str(g) for g in groups.get(level, ())]
            if not mapping and not extra:
                continue
            member = [vm for vm in self.series if vm in mapping]
            names = sorted(set(mapping[vm] for vm in member) | set(extra))
            index = {name: i for i, name in enumerate(names)}
            cols = np.array([i for i, vm in enumerate(self.series)
                             if vm in mapping], dtype=np.int64)
            rows = np.array([index[mapping[self.series[c]]] for c in cols],
                            dtype=np.int64)
            matrix = sparse.csr_matrix(
                (np.ones(len(cols)), (rows, cols)),
                shape=(len(names), n_series))
            self.levels[level] = (tuple(names), matrix)
            left_out = n_series - len(cols)
            if left_out:
                LOG.info('Hierarchy: %d of %d series have no %s; they are '
                         'left out of that level', left_out, n_series,
                         level)
        if self.levels:
            self.matrix = sparse.vstack(
                [m for _, m in self.levels.values()], format='csr')
        else:
            self.matrix = sparse.csr_matrix((0, n_series))
        self.slices = collections.OrderedDict()
        offset = 0
        for level, (names, _) in self.levels.items():
            self.slices[level] = slice(offset, offset + len(names))
            offset += len(names)
        #: Number of children of every stacked group.
        self.n_children = np.asarray(self.matrix.sum(axis=1)).ravel()

    @property
    def n_groups(self):
        return self.matrix.shape[0]

    def sum(self, values):
        """Sum ``values`` (series, ...) into every group (groups, ...).

        NaN counts as 0; a group cell where every child is NaN (or that
        has no child) is NaN.
        """
        values = np.asarray(values, dtype=np.float64)
        if values.shape[0] != len(self.series):
            raise base.ForecastError(
                reason="%d rows to aggregate for %d series"
                % (values.shape[0], len(self.series)))
        flat = values.reshape(values.shape[0], -1)
        finite = np.isfinite(flat)
        with np.errstate(over='ignore', invalid='ignore'):
            total = self.matrix @ np.where(finite, flat, 0.0)
        present = self.matrix @ finite.astype(np.float64)
        total = np.where(present > 0, total, np.nan)
        return total.reshape((self.n_groups,) + values.shape[1:])


def backtest_residuals(forecaster, history, origins=None):
    """Signed residuals of ``forecaster`` from rolling origins, aligned.

    Unlike the calibrator's sorted residuals, these keep the origin axis,
    so that children's residuals can be summed origin by origin.

    :param forecaster: a fitted :class:`.base.Forecaster` (its model
        method ``_paths``, the plugin contract, gives the paths).
    :param history: float array (series, T), NaN for missing.
    :param origins: int array of origins in ``1 .. T - 1``; by default the
        most recent ``calibration_window`` steps, at most ``max_origins``
        of them, evenly spread, ending at the last origin.
    :returns: float array (series, origins, horizon) of ``actual -
        forecast``, NaN where either is missing.
    """
    history = forecaster._check_history(history)
    length = history.shape[1]
    horizon = forecaster.horizon
    if origins is None:
        window = forecaster.calibration_window or length
        first = max(1, length - window - horizon + 1)
        last = length - 1
        if last < first:
            origins = np.zeros(0, dtype=np.int64)
        elif last - first + 1 <= forecaster.max_origins:
            origins = np.arange(first, last + 1, dtype=np.int64)
        else:
            origins = np.unique(np.round(np.linspace(
                first, last, forecaster.max_origins)).astype(np.int64))
    origins = np.asarray(origins, dtype=np.int64)
    if origins.size == 0:
        return np.full((history.shape[0], 0, horizon), np.nan)
    paths = forecaster._paths(history, origins)
    target = origins[:, None] + np.arange(horizon)[None, :]
    inside = target < length
    actual = np.full((history.shape[0],) + target.shape, np.nan)
    actual[:, inside] = history[:, target[inside]]
    with np.errstate(invalid='ignore', over='ignore'):
        residuals = actual - paths
    residuals[~np.isfinite(residuals)] = np.nan
    return residuals


def aggregate(forecast, hierarchy, residuals, history=None,
              min_residuals=conformal.MIN_RESIDUALS, floor=None):
    """Forecasts of every level of ``hierarchy``, with valid intervals.

    :param forecast: the :class:`.base.Forecast` of the level-0 series, in
        the order of ``hierarchy.series``.
    :param hierarchy: a :class:`Hierarchy`.
    :param residuals: float array (series, origins, horizon): the
        children's back-test residuals, aligned by origin (see
        :func:`backtest_residuals`); NaN where missing.
    :param history: optional float array (series, T), the children's
        history, used for the scale of the pooled fallback of groups with
        few residuals; without it, the mean absolute aggregate residual.
    :param min_residuals: see :class:`.conformal.ConformalCalibrator`.
    :param floor: when not None, every value is raised to at least this.
    :returns: an ordered dict level -> :class:`.base.Forecast`, with
        ``'vm'`` (the input) first, then each level of the hierarchy.
    """
    if tuple(forecast.series) != hierarchy.series:
        raise base.ForecastError(
            reason="the forecast's series are not the hierarchy's, or not "
                   "in the same order")
    residuals = np.asarray(residuals, dtype=np.float64)
    n_series, horizon = forecast.point.shape
    if residuals.ndim != 3 or residuals.shape[0] != n_series or \
            residuals.shape[2] != horizon:
        raise base.ForecastError(
            reason="residuals must have shape (%d, origins, %d), got %s"
            % (n_series, horizon, residuals.shape))
    result = collections.OrderedDict(vm=forecast)
    if hierarchy.n_groups == 0:
        return result
    n_groups = hierarchy.n_groups
    matrix = hierarchy.matrix

    # Points: bottom-up sums. A non-finite child point counts as 0.
    point = np.asarray(forecast.point)
    bad_point = ~np.isfinite(point).all(axis=1)
    with np.errstate(over='ignore', invalid='ignore'):
        agg_point = matrix @ np.where(np.isfinite(point), point, 0.0)
    n_bad = matrix @ bad_point.astype(np.float64)

    # Residuals of the aggregate: sums of the children's, origin by origin.
    n_origins = residuals.shape[1]
    flat = residuals.reshape(n_series, n_origins * horizon)
    finite = np.isfinite(flat)
    with np.errstate(over='ignore', invalid='ignore'):
        agg_res = matrix @ np.where(finite, flat, 0.0)
    present = matrix @ finite.astype(np.float64)
    agg_res = np.where(present > 0, agg_res, np.nan)
    agg_res = agg_res.reshape(n_groups, n_origins, horizon)
    if flat.size:
        missing = 1.0 - float(finite.sum()) / flat.size
        if missing > 0:
            LOG.info('Hierarchy: %.1f%% of the children\'s back-test '
                     'residuals are missing; they count as 0 in the '
                     'aggregate residuals', 100.0 * missing)

    if history is not None:
        scale = conformal.series_scale(hierarchy.sum(history))
    else:
        with np.errstate(invalid='ignore'):
            scale = np.nanmean(np.abs(agg_res[:, :, 0]), axis=1) \
                if n_origins else np.zeros(n_groups)
        scale = np.where(np.isfinite(scale), scale, 0.0)
    calibrator = conformal.ConformalCalibrator(
        forecast.level, min_residuals=min_residuals)
    calibrator.calibrate(agg_res, scale)
    with np.errstate(over='ignore', invalid='ignore'):
        lower, upper = calibrator.interval(agg_point)

    n_children = hierarchy.n_children
    n_valid = matrix @ np.asarray(forecast.valid, dtype=np.float64)
    empty = n_children == 0
    notes = [
        (empty, 'no data: no child series in this group; forecast 0'),
        (~empty & (n_valid == 0), 'no valid child forecast'),
        (~empty & (n_valid > 0) & (n_valid < n_children),
         None),
        (~empty & (n_bad > 0), 'non-finite child points counted as 0'),
        (~empty & calibrator.pooled & ~calibrator.under_calibrated,
         'too few aggregate residuals: interval borrowed from all groups'),
        (~empty & calibrator.under_calibrated,
         'too little history to calibrate the aggregate interval at the '
         'nominal level'),
    ]
    point = np.where(empty[:, None], 0.0, agg_point)
    lower = np.where(empty[:, None], 0.0, lower)
    upper = np.where(empty[:, None], 0.0, upper)
    point = np.clip(np.nan_to_num(point, nan=0.0), -_BIG, _BIG)
    lower = np.nan_to_num(lower, nan=-_BIG, posinf=_BIG, neginf=-_BIG)
    upper = np.nan_to_num(upper, nan=_BIG, posinf=_BIG, neginf=-_BIG)
    if floor is not None:
        point = np.maximum(point, floor)
        lower = np.maximum(lower, floor)
        upper = np.maximum(upper, floor)
    lower = np.minimum(lower, point)
    upper = np.maximum(upper, point)

    reason = np.full(n_groups, '', dtype=object)
    partial = notes[2][0]
    if partial.any():
        idx = np.flatnonzero(partial)
        texts = np.array(['%d of %d child forecasts invalid'
                          % (n_children[i] - n_valid[i], n_children[i])
                          for i in idx], dtype=object)
        reason[idx] = texts
    for mask, text in notes:
        if text is None or not mask.any():
            continue
        reason[mask] = np.where(reason[mask] == '', text,
                                reason[mask] + '; ' + text)
    valid = ~empty & (n_valid > 0)

    for level, (names, _) in hierarchy.levels.items():
        sl = hierarchy.slices[level]
        n_empty = int(empty[sl].sum())
        if n_empty:
            LOG.info('Hierarchy: %d %s group(s) have no data: forecast 0',
                     n_empty, level)
        result[level] = base.Forecast(
            series=names, metric=forecast.metric, start=forecast.start,
            step=forecast.step, level=forecast.level, point=point[sl],
            lower=lower[sl], upper=upper[sl], valid=valid[sl],
            reason=tuple(reason[sl]), model=forecast.model)
    return result


def forecast_hierarchy(forecaster, history, start, hierarchy, metric=None,
                       floor=None):
    """Fit ``forecaster`` on the VMs, forecast them and every level above.

    :param forecaster: a :class:`.base.Forecaster`.
    :param history: float array (series, T) of the level-0 series, in
        the order of ``hierarchy.series``.
    :param start: time of ``history[:, 0]``.
    :returns: as :func:`aggregate`.
    """
    forecaster.fit(history, start)
    forecast = forecaster.predict(history, start, series=hierarchy.series,
                                  metric=metric)
    residuals = backtest_residuals(forecaster, history)
    return aggregate(forecast, hierarchy, residuals, history=history,
                     min_residuals=forecaster.min_residuals, floor=floor)
