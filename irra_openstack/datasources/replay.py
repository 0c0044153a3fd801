"""The ``replay`` datasource: canonical trace files as a datasource.

Each region is one canonical trace file (``irra-manage trace import``
writes them), so that any historical data can drive the engine. A region's
``endpoint`` is the path of its file. Metrics are the trace's own names;
``metrics`` may map irra's names to them (``MetricSpec.source``). Times of
the window are the trace's times, unless ``time_shift`` moves the trace
(e.g. to replay last month as if it were now).
"""

import numpy as np
from oslo_config import cfg

from irra_openstack.datasources import base
from irra_openstack import exception
from irra_openstack import frame as frame_mod
from irra_openstack.traces import api as traces_api


class ReplayDatasource(base.Datasource):
    """Metrics read from canonical trace files, one file per region.

    :param time_shift: seconds added to the trace's times.
    """

    name = 'replay'
    description = 'Canonical trace files replayed as a datasource'

    def __init__(self, regions, metrics=None, time_shift=0, **kwargs):
        super().__init__(regions, metrics=metrics or {}, **kwargs)
        self.time_shift = int(time_shift)

    def query(self, region, spec, start, end, step, kind='vm'):
        # Not used: a trace is already on a grid (see fetch).
        raise NotImplementedError()

    def fetch(self, start, end, step, metrics=None, kind='vm',
              regions=None, attributes=None, resources=None):
        import time

        t0 = time.monotonic()
        step = int(step)
        start, end = base.align_window(start, end, step)
        region_names = tuple(regions) if regions else tuple(self.regions)
        frames, missing, names_seen = {}, [], None
        for rname in region_names:
            region = self.regions.get(rname)
            if region is None:
                missing.append(base.Missing(rname, '*',
                                            'region not configured'))
                continue
            try:
                with traces_api.open_trace(region.endpoint) as trace:
                    f, miss = self._read(trace, rname, start, end, step,
                                         metrics, kind, attributes)
            except exception.IrraError as exc:
                missing.append(base.Missing(rname, '*', str(exc)))
                continue
            except Exception as exc:  # noqa: broad - never escape a cycle
                missing.append(base.Missing(
                    rname, '*', 'unexpected %s: %s'
                    % (type(exc).__name__, exc)))
                continue
            missing.extend(miss)
            frames[rname] = f
            names_seen = f.metrics
        result = base.FetchResult(
            start=start, end=end, step=step,
            metrics=tuple(metrics or names_seen or ()),
            regions=region_names, frames=frames, missing=missing,
            seconds=time.monotonic() - t0)
        return result

    def _read(self, trace, rname, start, end, step, metrics, kind,
              attributes):
        names = list(metrics) if metrics else (
            list(self.metrics) or list(trace.metrics))
        sources = [self.metrics[n].source if n in self.metrics else n
                   for n in names]
        missing = [base.Missing(rname, n, 'the trace %s has no metric %s '
                                '(it has %s)' % (trace.path, s,
                                                 ', '.join(trace.metrics)))
                   for n, s in zip(names, sources)
                   if s not in trace.metrics]
        have = [(n, s) for n, s in zip(names, sources)
                if s in trace.metrics]
        if kind != trace.kind:
            raise exception.TraceError(
                reason="%s holds %s resources, not %s"
                % (trace.path, trace.kind, kind))
        if step % trace.step:
            raise exception.TraceError(
                reason="step %d is not a multiple of the trace's step %d"
                % (step, trace.step))
        # The window in the trace's own times, on the trace's grid.
        t_start = start - self.time_shift
        t_end = end - self.time_shift
        lo = trace.start + int(np.floor((t_start - trace.start)
                                        / trace.step)) * trace.step
        n_native = int(np.ceil((t_end - lo) / trace.step))
        f = trace.read(metrics=[s for n, s in have] or None, start=lo,
                       end=lo + n_native * trace.step) if have else None
        n_steps = (end - start) // step
        values = np.full((len(trace.resources) if f is None
                          else f.n_resources, len(names), n_steps), np.nan)
        if f is not None:
            factor = step // trace.step
            v = f.values.astype(np.float64)
            pad = (-v.shape[2]) % factor
            if pad:
                v = np.concatenate(
                    [v, np.full(v.shape[:2] + (pad,), np.nan)], axis=2)
            v = v.reshape(v.shape[0], v.shape[1], -1, factor)
            with np.errstate(invalid='ignore'):
                cnt = (~np.isnan(v)).sum(axis=3)
                v = np.where(cnt > 0, np.nansum(v, axis=3)
                             / np.maximum(cnt, 1), np.nan)
            v = v[:, :, :n_steps]
            for j, (n, s) in enumerate(have):
                values[:, names.index(n), :v.shape[2]] = v[:, j, :]
            for j, (n, s) in enumerate(have):
                scale = self.metrics[n].scale if n in self.metrics else 1.0
                values[:, names.index(n), :] *= scale
        resources = f.resources if f is not None else trace.resources
        attrs = {}
        for r in resources:
            a = dict(trace.attributes.get(r, {}))
            a.update((attributes or {}).get(r, {}))
            a['region'] = rname
            attrs[r] = a
        units = {n: (self.metrics[n].unit if n in self.metrics
                     else trace.units.get(s, '')) for n, s in have}
        frame = frame_mod.MetricFrame(
            start=start, step=step, resources=resources, metrics=names,
            values=values, kind=kind, units=units, attributes=attrs,
            epoch_known=trace.epoch_known)
        return frame, missing

    @classmethod
    def get_config_opts(cls):
        return [
            cfg.DictOpt('traces', default={},
                        help='Canonical trace file per region, '
                             'region:path.'),
            cfg.IntOpt('time_shift', default=0,
                       help='Seconds added to the traces\' times, e.g. to '
                            'replay an old trace as if it were recent.'),
        ]
