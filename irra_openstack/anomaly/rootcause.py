"""Root-cause reports: which VMs and metrics explain an aggregate's anomaly.

A host's (application's, region's) usage is the sum of its VMs' usage:
with :math:`A` the sparse aggregation matrix (parents x children, usually
0/1; a VM -> region matrix is the product of VM -> host and host -> region),
the aggregate of metric :math:`m` is :math:`y_{pm} = \\sum_c A_{pc} y_{cm}`.
So the aggregate's deviation from its expected value over the anomaly's
steps :math:`[s, e)` splits exactly into the children's deviations:

.. math::

    \\Delta_{pm} = \\sum_{t=s}^{e-1} (y_{pmt} - \\hat y_{pmt})
                = \\sum_c \\underbrace{A_{pc} \\sum_{t=s}^{e-1}
                  (y_{cmt} - \\hat y_{cmt})}_{d_{cm}}

where :math:`\\hat y_c` is what was expected of each child (its forecast).

*Children* (ranked on the anomaly's main metric :math:`m_0`): with
:math:`\\sigma = \\mathrm{sign}(\\Delta_{pm_0})`, the children that moved the
aggregate the way it went are the positive contributors, and the share of
child :math:`c` is

.. math:: w_c = \\frac{\\max(\\sigma d_{cm_0}, 0)}
                      {\\sum_{c'} \\max(\\sigma d_{c'm_0}, 0)}

so shares are in [0, 1] and sum to 1 over the positive contributors; the
others (which moved against the aggregate) get 0 and are not listed.

*Metrics*: metrics have different units, so each aggregate deviation is
put on the scale :math:`S_{pm}` of that metric's normal residual,
:math:`v_{pm} = |\\Delta_{pm}| / ((e - s) S_{pm})` (the mean deviation in
normal-residual units), and the shares are :math:`v_{pm} / \\sum_{m'}
v_{pm'}`. :math:`S_{pm}` is given by the caller (the half-width of the
aggregate's forecast interval is a good choice) or, by default, the robust
spread (1.4826 MAD) over all the steps given of the aggregate residual
:math:`\\sum_c A_{pc}(y_{cmt} - \\hat y_{cmt})`, which the anomaly itself
barely moves as long as it covers less than half of them.

*Culprits*: (child, metric) pairs, with
:math:`\\max(\\mathrm{sign}(\\Delta_{pm}) d_{cm}, 0) / S_{pm}` normalised to
shares summing to 1 over all pairs: "VM x's CPU explains 80 %".

A missing child value counts as "as expected" (zero deviation); the report
says how many children had missing values in the window.

The report is a JSON-serialisable dict::

    {"method": "deviation_shares",
     "parent": "host-1", "parent_kind": "host", "child_kind": "vm",
     "start": 1700000000, "end": 1700003600, "metric": "cpu",
     "direction": "above",
     "deviation": {"cpu": 310.0, "memory": 12.0},
     "children": [{"id": "vm-7", "share": 0.93, "deviation": 290.0}, ...],
     "metrics": [{"metric": "cpu", "share": 0.88, "deviation": 310.0,
                  "scaled": 6.1}, ...],
     "culprits": [{"id": "vm-7", "metric": "cpu", "share": 0.8}, ...],
     "children_total": 12, "children_missing": 0, "note": ""}
"""

import numpy as np
from oslo_log import log as logging
from scipy import sparse

from irra_openstack.anomaly import base
from irra_openstack import frame as frame_mod

LOG = logging.getLogger(__name__)

METHOD = 'deviation_shares'


def aggregation_matrix(children, parent_of, parents=None):
    """The sparse 0/1 matrix (parents x children) of a hierarchy level.

    :param children: child ids, in the order of the child data.
    :param parent_of: ``{child: parent}``; a child without a parent
        belongs to no aggregate.
    :param parents: parent ids in the wanted order; by default the sorted
        set of the values of ``parent_of``.
    :returns: ``(matrix, parents)``, a CSR matrix and the parent ids.
    """
    children = [str(c) for c in children]
    if parents is None:
        parents = sorted({str(p) for p in parent_of.values()})
    parents = tuple(str(p) for p in parents)
    p_index = {p: i for i, p in enumerate(parents)}
    pairs = [(p_index[str(parent_of[c])], j) for j, c in enumerate(children)
             if c in parent_of and str(parent_of[c]) in p_index]
    rows = np.array([p for p, _ in pairs], dtype=np.int64)
    cols = np.array([c for _, c in pairs], dtype=np.int64)
    matrix = sparse.csr_matrix((np.ones(rows.size), (rows, cols)),
                               shape=(len(parents), len(children)))
    return matrix, parents


class RootCauseAnalyzer:
    """Explain the anomalies of one level of aggregates by their children.

    :param aggregation: sparse or dense matrix (parents x children).
    :param parents: parent ids (rows of ``aggregation``).
    :param children: child ids (columns).
    :param parent_kind: kind of the parents (``host``, ``app``,
        ``region``).
    :param child_kind: kind of the children, usually ``vm``.
    :param top: most children, metrics and culprits listed in a report.
    """

    def __init__(self, aggregation, parents, children, parent_kind='host',
                 child_kind='vm', top=10):
        self.matrix = sparse.csr_matrix(aggregation, dtype=np.float64)
        self.parents = tuple(str(p) for p in parents)
        self.children = tuple(str(c) for c in children)
        if self.matrix.shape != (len(self.parents), len(self.children)):
            raise base.AnomalyError(
                reason="the aggregation matrix is %s but there are %d "
                       "parents and %d children"
                       % (self.matrix.shape, len(self.parents),
                          len(self.children)))
        for kind in (parent_kind, child_kind):
            if kind not in frame_mod.RESOURCE_KINDS:
                raise base.AnomalyError(reason="unknown resource kind %r"
                                        % (kind,))
        self.parent_kind = parent_kind
        self.child_kind = child_kind
        self.top = base.positive_int('top', top)
        self._p_index = {p: i for i, p in enumerate(self.parents)}

    def __repr__(self):
        return ('<RootCauseAnalyzer %d %s of %d %s>'
                % (len(self.parents), self.parent_kind, len(self.children),
                   self.child_kind))

    def _align(self, frame):
        """Values (children, metrics, T) of ``frame`` in our child order."""
        index = {r: i for i, r in enumerate(frame.resources)}
        rows = np.array([index.get(c, -1) for c in self.children],
                        dtype=np.int64)
        out = np.full((len(self.children),) + frame.values.shape[1:],
                      np.nan)
        known = rows >= 0
        out[known] = frame.values[rows[known]]
        return out, int((~known).sum())

    def explain(self, anomalies, actual, expected, scale=None):
        """Attach a root-cause report to each anomaly of a parent.

        :param anomalies: :class:`~.base.Anomaly` records; those of other
            resource kinds, or of unknown parents, are returned unchanged.
        :param actual: :class:`~irra_openstack.frame.MetricFrame` of the
            children's actual values, covering the anomalies' steps.
        :param expected: what was expected of the children: a MetricFrame
            on the same grid, resources and metrics as ``actual``, or an
            array of the shape of ``actual.values``.
        :param scale: optional array (parents, metrics): the normal scale
            of each aggregate's residual (see the module doc).
        :returns: the anomalies, in the same order, with ``root_cause``
            set where it could be computed.
        """
        anomalies = list(anomalies)
        if isinstance(expected, frame_mod.MetricFrame):
            if (expected.start, expected.step, expected.n_steps,
                    expected.metrics) != (actual.start, actual.step,
                                          actual.n_steps, actual.metrics):
                raise base.AnomalyError(
                    reason="expected %r is not on the grid and metrics of "
                           "actual %r" % (expected, actual))
            exp_values, _ = self._align(expected)
        else:
            exp_values = np.asarray(expected, dtype=np.float64)
            if exp_values.shape != actual.values.shape:
                raise base.AnomalyError(
                    reason="expected has shape %s but actual %s"
                    % (exp_values.shape, actual.values.shape))
            if tuple(actual.resources) != self.children:
                exp_values = frame_mod.MetricFrame(
                    start=actual.start, step=actual.step,
                    resources=actual.resources, metrics=actual.metrics,
                    values=exp_values)
                exp_values, _ = self._align(exp_values)
        act_values, absent = self._align(actual)
        if absent:
            LOG.info('root cause: %d of %d %s have no data in %r; taken as '
                     'expected', absent, len(self.children),
                     self.child_kind, actual)
        metrics = actual.metrics
        with np.errstate(invalid='ignore'):
            dev = act_values - exp_values
        missing = ~np.isfinite(dev)
        dev = np.where(missing, 0.0, dev)
        n_children, n_metrics, length = dev.shape

        picked = [i for i, a in enumerate(anomalies)
                  if a.resource_kind == self.parent_kind
                  and a.resource_id in self._p_index]
        skipped = sum(1 for a in anomalies
                      if a.resource_kind == self.parent_kind
                      and a.resource_id not in self._p_index)
        if skipped:
            LOG.info('root cause: %d %s anomalies of %s not in the '
                     'hierarchy; no report', skipped, self.parent_kind,
                     self.parent_kind)
        if not picked:
            return anomalies
        p_idx = np.array([self._p_index[anomalies[i].resource_id]
                          for i in picked])
        s_idx = np.clip(np.array(
            [(anomalies[i].start - actual.start) // actual.step
             for i in picked]), 0, length)
        e_idx = np.clip(np.array(
            [-(-(anomalies[i].end - actual.start) // actual.step)
             for i in picked]), 0, length)
        e_idx = np.maximum(e_idx, s_idx)
        n_steps = e_idx - s_idx

        # Children's deviations over each anomaly's window: (C, M, A).
        zero = np.zeros((n_children, n_metrics, 1))
        cum = np.concatenate([zero, np.cumsum(dev, axis=2)], axis=2)
        child_dev = cum[:, :, e_idx] - cum[:, :, s_idx]
        mcum = np.concatenate(
            [np.zeros((n_children, 1), dtype=np.int64),
             np.cumsum(missing.any(axis=1), axis=1)], axis=1)
        child_missing = (mcum[:, e_idx] - mcum[:, s_idx]) > 0   # (C, A)

        # Contributions on the nonzeros of A[parents of the anomalies].
        sub = self.matrix[p_idx].tocoo()
        a_nz, c_nz, w_nz = sub.row, sub.col, sub.data
        contrib = w_nz[:, None] * child_dev[c_nz, :, a_nz]       # (nz, M)
        parent_dev = np.zeros((len(picked), n_metrics))
        np.add.at(parent_dev, a_nz, contrib)
        n_kids = np.bincount(a_nz, minlength=len(picked))
        n_missing = np.bincount(a_nz, weights=child_missing[c_nz, a_nz],
                                minlength=len(picked)).astype(int)

        if scale is None:
            scale = self._default_scale(dev, exp_values)
        scale = np.asarray(scale, dtype=np.float64)
        if scale.shape != (len(self.parents), n_metrics):
            raise base.AnomalyError(
                reason="scale has shape %s, expected %s"
                % (scale.shape, (len(self.parents), n_metrics)))
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        a_scale = scale[p_idx]                                   # (A, M)

        m_pos = {m: i for i, m in enumerate(metrics)}
        main = np.array([m_pos.get(anomalies[i].metric, 0) for i in picked])
        unknown = [anomalies[i].metric for i in picked
                   if anomalies[i].metric not in m_pos]
        if unknown:
            LOG.info('root cause: %d anomalies are of metrics not in %r '
                     '(%s); ranked on %s', len(unknown), actual,
                     ', '.join(sorted(set(map(str, unknown)))), metrics[0])
        hint = np.array([1.0 if anomalies[i].details.get('direction') !=
                         'below' else -1.0 for i in picked])
        sign_main = np.sign(parent_dev[np.arange(len(picked)), main])
        sign_main = np.where(sign_main == 0, hint, sign_main)
        sign_all = np.sign(parent_dev)
        child_pos = np.maximum(sign_main[a_nz] *
                               contrib[np.arange(a_nz.size), main[a_nz]], 0)
        child_tot = np.bincount(a_nz, weights=child_pos,
                                minlength=len(picked))
        pair_pos = np.maximum(sign_all[a_nz] * contrib, 0) / a_scale[a_nz]
        pair_tot = np.bincount(a_nz, weights=pair_pos.sum(axis=1),
                               minlength=len(picked))
        scaled = np.abs(parent_dev) / (np.maximum(n_steps, 1)[:, None] *
                                       a_scale)
        met_tot = scaled.sum(axis=1)

        bounds = np.searchsorted(a_nz, np.arange(len(picked) + 1))
        out = list(anomalies)
        for j, i in enumerate(picked):
            lo, hi = bounds[j], bounds[j + 1]
            note = []
            if n_kids[j] == 0:
                note.append('no %s known under this %s'
                            % (self.child_kind, self.parent_kind))
            if n_steps[j] == 0:
                note.append('the anomaly is outside the data given')
            elif n_kids[j] and n_missing[j] == n_kids[j]:
                note.append('no %s data in the window' % self.child_kind)
            report = {
                'method': METHOD,
                'parent': self.parents[p_idx[j]],
                'parent_kind': self.parent_kind,
                'child_kind': self.child_kind,
                'start': int(actual.start + s_idx[j] * actual.step),
                'end': int(actual.start + e_idx[j] * actual.step),
                'metric': metrics[main[j]],
                'direction': 'above' if sign_main[j] > 0 else 'below',
                'deviation': {m: float(parent_dev[j, k])
                              for k, m in enumerate(metrics)},
                'children': [], 'metrics': [], 'culprits': [],
                'children_total': int(n_kids[j]),
                'children_missing': int(n_missing[j]),
            }
            if child_tot[j] > 0:
                pos = child_pos[lo:hi]
                order = np.argsort(-pos, kind='stable')[:self.top]
                report['children'] = [
                    {'id': self.children[c_nz[lo + o]],
                     'share': float(pos[o] / child_tot[j]),
                     'deviation': float(contrib[lo + o, main[j]])}
                    for o in order if pos[o] > 0]
            elif n_kids[j] and n_steps[j]:
                note.append('no %s moved the way the %s did'
                            % (self.child_kind, self.parent_kind))
            if met_tot[j] > 0:
                order = np.argsort(-scaled[j], kind='stable')[:self.top]
                report['metrics'] = [
                    {'metric': metrics[k],
                     'share': float(scaled[j, k] / met_tot[j]),
                     'deviation': float(parent_dev[j, k]),
                     'scaled': float(scaled[j, k])}
                    for k in order if scaled[j, k] > 0]
            if pair_tot[j] > 0:
                pairs = pair_pos[lo:hi].ravel()
                order = np.argsort(-pairs, kind='stable')[:self.top]
                report['culprits'] = [
                    {'id': self.children[c_nz[lo + o // n_metrics]],
                     'metric': metrics[o % n_metrics],
                     'share': float(pairs[o] / pair_tot[j])}
                    for o in order if pairs[o] > 0]
            report['note'] = '; '.join(note)
            if note:
                LOG.info('root cause of %s %s [%d, %d): %s',
                         self.parent_kind, report['parent'],
                         anomalies[i].start, anomalies[i].end,
                         report['note'])
            out[i] = anomalies[i].replace(root_cause=report)
        return out

    def _default_scale(self, dev, expected):
        """Robust spread of every aggregate's residual (parents, metrics)."""
        n_children, n_metrics, length = dev.shape
        flat = dev.reshape(n_children, -1)
        parent_res = np.asarray(self.matrix @ flat).reshape(
            len(self.parents), n_metrics, length)
        median = np.median(parent_res, axis=2, keepdims=True)
        mad = 1.4826 * np.median(np.abs(parent_res - median), axis=2)
        exp = np.nan_to_num(expected, nan=0.0).reshape(n_children, -1)
        level = np.abs(np.asarray(self.matrix @ exp).reshape(
            len(self.parents), n_metrics, length)).mean(axis=2) \
            if length else np.zeros(mad.shape)
        # A residual with no spread (e.g. perfect forecasts): fall back on
        # a hundredth of the aggregate's level, then on 1.
        fallback = np.where(level > 0, 0.01 * level, 1.0)
        return np.where(mad > 0, mad, fallback)
