"""The fitted digital twin of an application.

Model
-----
An application served by capacity :math:`Y` (for example vCPUs, or
instances) at request rate :math:`\\lambda` is modelled as an M/M/c queue
(:mod:`.queueing`) with

* :math:`c = \\kappa Y` effective servers: :math:`\\kappa` says how many
  servers one unit of capacity is worth (1 when :math:`Y` counts servers);
* :math:`\\mu`, the service rate of one server;
* optionally a constant overhead :math:`d \\ge 0` (network, database) added
  to the response time.

Its SLA metric is then one of:

* ``latency``: mean response time, :math:`d + 1/\\mu + W_q`;
* ``wait``: mean time in queue, :math:`W_q`;
* ``queue_length``: mean number waiting, :math:`L_q = \\lambda W_q`;
* ``error_rate``: share of requests that wait longer than ``timeout``
  seconds (and so time out), :math:`C e^{-(c\\mu - \\lambda) t}`.

Fit
---
From observations :math:`(\\lambda_i, Y_i, v_i)` of the SLA metric the twin
estimates :math:`\\theta = (\\log\\mu, \\log\\kappa[, d])` by
``scipy.optimize.least_squares`` on relative errors,

.. math:: r_i = \\log(f_\\theta(\\lambda_i, Y_i) + \\epsilon)
              - \\log(v_i + \\epsilon)

(:math:`\\epsilon = 0` for latency, a thousandth of the largest
observation otherwise, so that values near zero do not dominate), which
weighs a 10 % miss the same at low load and near saturation. A parameter
set that makes an observed point unstable (:math:`\\rho_i \\ge 1`, although
the application answered) is pushed back by a steep penalty. The fit starts
from a few points (:math:`\\kappa_0` from 1 and from the least capacity that
keeps every observation stable) and keeps the best. The queueing form is
what lets the twin go where the data is thin: the sharp rise of the
response time as :math:`\\rho \\to 1` follows from the model, not from a
curve drawn through the points.

Answers
-------
:meth:`QueueingTwin.predict` answers many (load, capacity) queries at once.
Each answer has the utilisation :math:`\\rho = \\lambda / (\\kappa Y \\mu)`
and a status:

* ``ok``: inside what the twin was fitted on;
* ``extrapolated``: a finite answer, but :math:`\\rho` beyond the highest
  fitted utilisation (plus ``rho_tolerance``) or the capacity outside the
  fitted range: treat with care;
* ``unstable``: :math:`\\rho \\ge 1`; the value is ``inf``: the queue, and
  the latency, grow without bound. Never a finite number.

With ``strict=True`` a query that is not ``ok`` raises
:class:`TwinExtrapolationError` instead.
"""

import dataclasses

import numpy as np
from oslo_log import log as logging
from scipy import optimize

from irra_openstack import exception
from irra_openstack.twin import queueing

LOG = logging.getLogger(__name__)

#: The SLA metrics a twin can model and answer.
METRICS = ('latency', 'wait', 'queue_length', 'error_rate')
#: Status of an answer.
OK, EXTRAPOLATED, UNSTABLE = 'ok', 'extrapolated', 'unstable'
#: Fewest observations to fit a twin.
MIN_POINTS = 5
#: Highest utilisation used inside the fit (the barrier starts there).
_RHO_CAP = 0.999


class TwinError(exception.IrraError):
    msg_fmt = "Digital twin error: %(reason)s"


class TwinExtrapolationError(TwinError):
    msg_fmt = ("The digital twin cannot answer %(count)d of %(total)d "
               "queries within its data: %(reason)s")


@dataclasses.dataclass(frozen=True, eq=False)
class TwinPrediction:
    """Answers to (load, capacity) queries; arrays of the queries' shape.

    :param value: the SLA metric; ``inf`` where unstable.
    :param utilisation: :math:`\\rho` of each query.
    :param status: ``ok``, ``extrapolated`` or ``unstable`` (str array).
    :param metric: which SLA metric ``value`` is.
    """

    value: np.ndarray
    utilisation: np.ndarray
    status: np.ndarray
    metric: str

    @property
    def stable(self):
        return self.status != UNSTABLE

    @property
    def extrapolated(self):
        return self.status == EXTRAPOLATED

    @property
    def ok(self):
        return self.status == OK


class QueueingTwin:
    """An application's SLA metric as an M/M/c queue (see module doc).

    :param metric: the SLA metric observed and fitted, one of
        :data:`METRICS`.
    :param timeout: seconds, needed for ``error_rate``.
    :param fit_overhead: also fit a constant overhead ``d`` (latency only).
    :param rho_tolerance: how far beyond the highest fitted utilisation an
        answer is still ``ok``.
    :param name: the application, for messages.
    """

    def __init__(self, metric='latency', timeout=None, fit_overhead=False,
                 rho_tolerance=0.02, name=None):
        if metric not in METRICS:
            raise TwinError(reason="metric must be one of %s, got %r"
                            % (', '.join(METRICS), metric))
        if metric == 'error_rate' and not (timeout and timeout > 0):
            raise TwinError(reason="the error_rate metric needs a positive "
                                   "timeout (seconds)")
        self.metric = metric
        self.timeout = None if timeout is None else float(timeout)
        self.fit_overhead = bool(fit_overhead) and metric == 'latency'
        self.rho_tolerance = float(rho_tolerance)
        self.name = name or 'application'
        self.service_rate = self.efficiency = None
        self.overhead = 0.0
        self.domain = None
        self.fit_error = None

    def __repr__(self):
        if not self.fitted:
            return '<QueueingTwin %s %s unfitted>' % (self.name,
                                                      self.metric)
        return ('<QueueingTwin %s %s mu=%.4g kappa=%.4g d=%.3g rmse=%.3g>'
                % (self.name, self.metric, self.service_rate,
                   self.efficiency, self.overhead, self.fit_error))

    @property
    def fitted(self):
        return self.service_rate is not None

    # -- the model ------------------------------------------------------

    def _evaluate(self, load, capacity, mu, kappa, overhead, metric):
        figures = queueing.mmc(load, mu, kappa * capacity,
                               timeout=self.timeout)
        if metric == 'latency':
            value = figures['response'] + overhead
        elif metric == 'wait':
            value = figures['wait']
        elif metric == 'queue_length':
            value = figures['queue_length']
        else:
            value = figures['p_wait_over']
        return value, figures['utilisation']

    def _residuals(self, theta, load, capacity, observed, eps):
        mu, kappa = np.exp(theta[0]), np.exp(theta[1])
        overhead = theta[2] if self.fit_overhead else 0.0
        rho = load / (kappa * capacity * mu)
        capped = np.minimum(rho, _RHO_CAP)
        value, _ = self._evaluate(capped * kappa * capacity * mu, capacity,
                                  mu, kappa, overhead, self.metric)
        return (np.log(value + eps) - np.log(observed + eps) +
                100.0 * (rho - capped))

    # -- fitting --------------------------------------------------------

    def fit(self, load, capacity, observed):
        """Fit the twin on observations of the SLA metric.

        :param load: request rates (any shape); ``capacity`` and
            ``observed`` the same shape. Points with a missing, infinite
            or non-positive load or capacity, or a missing or negative
            observation, are left out (the log says how many).
        :raises TwinError: fewer than :data:`MIN_POINTS` usable points.
        :returns: self.
        """
        load, capacity, observed = (np.ravel(np.asarray(x, dtype=float))
                                    for x in np.broadcast_arrays(
                                        load, capacity, observed))
        usable = (np.isfinite(load) & np.isfinite(capacity) &
                  np.isfinite(observed) & (load > 0) & (capacity > 0) &
                  (observed >= 0))
        if self.metric == 'latency':
            usable &= observed > 0
        if (~usable).any():
            LOG.info('twin of %s: %d of %d observations left out (missing, '
                     'infinite or out of range)', self.name,
                     int((~usable).sum()), usable.size)
        if usable.sum() < MIN_POINTS:
            raise TwinError(
                reason="%d usable observations of %s for %s; at least %d "
                       "are needed" % (int(usable.sum()), self.metric,
                                       self.name, MIN_POINTS))
        load, capacity, observed = load[usable], capacity[usable], \
            observed[usable]
        eps = 0.0 if self.metric == 'latency' else \
            1e-3 * max(float(observed.max()), 1e-12)

        if self.metric == 'latency':
            mu0 = 1.0 / max(float(np.quantile(observed, 0.05)), 1e-12)
        else:
            # No direct view of the service time: start from the rate at
            # which the busiest point would be 90 % utilised.
            mu0 = float(np.max(load / capacity)) / 0.9
        need = float(np.max(load / (capacity * mu0)))   # kappa for rho=1
        best = None
        for kappa0 in sorted({1.0, max(need * 1.05, 1e-3),
                              max(need * 1.5, 1e-3)}):
            theta0 = [np.log(mu0), np.log(kappa0)]
            lower, upper = [-np.inf, -np.inf], [np.inf, np.inf]
            if self.fit_overhead:
                theta0.append(0.0)
                lower.append(0.0)
                upper.append(np.inf)
            try:
                result = optimize.least_squares(
                    self._residuals, theta0, bounds=(lower, upper),
                    args=(load, capacity, observed, eps), method='trf',
                    x_scale='jac', max_nfev=500)
            except (ValueError, FloatingPointError) as exc:
                LOG.debug('twin of %s: start kappa=%g failed: %s',
                          self.name, kappa0, exc)
                continue
            if best is None or result.cost < best.cost:
                best = result
        if best is None or not np.isfinite(best.cost):
            raise TwinError(reason="the fit of %s did not converge"
                            % self.name)
        self.service_rate = float(np.exp(best.x[0]))
        self.efficiency = float(np.exp(best.x[1]))
        self.overhead = float(best.x[2]) if self.fit_overhead else 0.0
        rho = load / (self.efficiency * capacity * self.service_rate)
        self.fit_error = float(np.sqrt(np.mean(best.fun ** 2)))
        self.domain = {
            'rho_max': float(rho.max()),
            'capacity_min': float(capacity.min()),
            'capacity_max': float(capacity.max()),
            'points': int(load.size),
        }
        LOG.debug('%r fitted on %d points, highest utilisation %.3f', self,
                  load.size, self.domain['rho_max'])
        return self

    # -- answering ------------------------------------------------------

    def predict(self, load, capacity, metric=None, strict=False):
        """What the SLA metric becomes at ``load`` with ``capacity``.

        :param load: request rates; ``capacity`` in the units fitted on;
            broadcast together, any shape.
        :param metric: which SLA metric to answer (default: the fitted
            one); any of :data:`METRICS` (``error_rate`` needs the
            twin's timeout).
        :param strict: raise :class:`TwinExtrapolationError` when a query
            is not ``ok``, instead of flagging it.
        :returns: a :class:`TwinPrediction`.
        """
        if not self.fitted:
            raise TwinError(reason="the twin of %s is not fitted"
                            % self.name)
        metric = metric or self.metric
        if metric not in METRICS or (metric == 'error_rate' and
                                     not self.timeout):
            raise TwinError(reason="cannot answer %r (metrics: %s; "
                                   "error_rate needs a timeout)"
                            % (metric, ', '.join(METRICS)))
        load, capacity = np.broadcast_arrays(
            np.asarray(load, dtype=float), np.asarray(capacity, dtype=float))
        bad = ~(np.isfinite(load) & np.isfinite(capacity) & (load >= 0) &
                (capacity > 0))
        if bad.any():
            raise TwinError(reason="%d queries have a negative or missing "
                                   "load or a non-positive capacity"
                            % int(bad.sum()))
        value, rho = self._evaluate(load, capacity, self.service_rate,
                                    self.efficiency, self.overhead, metric)
        dom = self.domain
        outside = ((rho > dom['rho_max'] + self.rho_tolerance) |
                   (capacity < dom['capacity_min'] * (1 - 1e-9)) |
                   (capacity > dom['capacity_max'] * (1 + 1e-9)))
        unstable = rho >= 1
        status = np.where(unstable, UNSTABLE,
                          np.where(outside, EXTRAPOLATED, OK))
        value = np.where(unstable, np.inf, value)
        if metric == 'error_rate':
            value = np.where(unstable, 1.0, value)
        n_unstable, n_out = int(unstable.sum()), int((outside &
                                                      ~unstable).sum())
        if n_unstable or n_out:
            LOG.debug('twin of %s: %d of %d queries unstable, %d '
                      'extrapolated', self.name, n_unstable, value.size,
                      n_out)
            if strict:
                raise TwinExtrapolationError(
                    count=n_unstable + n_out, total=value.size,
                    reason="%d at utilisation >= 1 (unbounded), %d beyond "
                           "the fitted utilisation %.3f or capacity "
                           "%g-%g" % (n_unstable, n_out, dom['rho_max'],
                                      dom['capacity_min'],
                                      dom['capacity_max']))
        return TwinPrediction(value=value, utilisation=rho, status=status,
                              metric=metric)

    def capacity_for(self, load, target, metric=None, max_capacity=1e6):
        """Least capacity that keeps the SLA metric at or below ``target``.

        Vectorised bisection over ``load`` (the metric falls as capacity
        grows). ``inf`` where even ``max_capacity`` is not enough.
        """
        load = np.asarray(load, dtype=float)
        target = np.broadcast_to(np.asarray(target, dtype=float),
                                 load.shape)
        # The smallest capacity that is stable, then double until met.
        lo = load / (self.efficiency * self.service_rate)
        hi = np.maximum(2 * lo, 1e-9)
        for _ in range(64):
            met = self.predict(load, hi, metric).value <= target
            if met.all() or (hi >= max_capacity).all():
                break
            hi = np.where(met, hi, np.minimum(hi * 2, max_capacity))
        met = self.predict(load, hi, metric).value <= target
        for _ in range(60):
            mid = (lo + hi) / 2
            ok = self.predict(load, mid, metric).value <= target
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
        return np.where(met, hi, np.inf)

    # -- persistence ------------------------------------------------------

    def to_dict(self):
        """The twin as a JSON-serialisable dict (see :meth:`from_dict`)."""
        return {'name': self.name, 'metric': self.metric,
                'timeout': self.timeout, 'fit_overhead': self.fit_overhead,
                'rho_tolerance': self.rho_tolerance,
                'service_rate': self.service_rate,
                'efficiency': self.efficiency, 'overhead': self.overhead,
                'domain': self.domain, 'fit_error': self.fit_error}

    @classmethod
    def from_dict(cls, data):
        twin = cls(metric=data['metric'], timeout=data.get('timeout'),
                   fit_overhead=data.get('fit_overhead', False),
                   rho_tolerance=data.get('rho_tolerance', 0.02),
                   name=data.get('name'))
        twin.service_rate = data.get('service_rate')
        twin.efficiency = data.get('efficiency')
        twin.overhead = data.get('overhead') or 0.0
        twin.domain = data.get('domain')
        twin.fit_error = data.get('fit_error')
        return twin


def fit_applications(frame, load_metric='request_rate',
                     capacity_metric='capacity', sla_metric='latency',
                     kind='latency', timeout=None, fit_overhead=False):
    """Fit one twin per application of a MetricFrame (kind ``app``).

    :param frame: per application, time series of its request rate,
        capacity and SLA metric (the metric names given).
    :param kind: which of :data:`METRICS` ``sla_metric`` is.
    :returns: ``{application: QueueingTwin}``; an application whose twin
        cannot be fitted (too little data) is left out, and the log says
        why.
    """
    load = frame.metric(load_metric)
    capacity = frame.metric(capacity_metric)
    observed = frame.metric(sla_metric)
    twins = {}
    for i, app in enumerate(frame.resources):
        twin = QueueingTwin(metric=kind, timeout=timeout,
                            fit_overhead=fit_overhead, name=app)
        try:
            twins[app] = twin.fit(load[i], capacity[i], observed[i])
        except TwinError as exc:
            LOG.warning('No digital twin for %s: %s', app, exc)
    return twins
