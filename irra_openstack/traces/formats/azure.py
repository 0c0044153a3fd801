"""Azure Public Dataset V1 VM CPU traces, in two layouts.

``azure-v1``
    the original ``vm_cpu_readings-file-*.csv`` files (optionally ``.gz``):
    no header, ``timestamp,vmid,min cpu,max cpu,avg cpu``, the timestamp
    in seconds from the trace start, every 5 minutes.
``azure-wide``
    one row per 5-minute step and one column per VM:
    ``step_5min,<vm>,<vm>,...`` (``microsoft_avg_100.csv``, and
    ``microsoft_max_100.csv`` beside it for the per-step maximum).

The calendar date of the trace is unknown: times count from its start.
"""

import os
import re

import numpy as np
import pandas as pd

from irra_openstack import exception
from irra_openstack.traces import base
from irra_openstack.traces import source as source_mod
from irra_openstack.traces import textio

STEP = 300
V1_METRICS = (('cpu_util', '%'), ('cpu_util_max', '%'),
              ('cpu_util_min', '%'))
WIDE_FIRST = 'step_5min'
_NUM = r'-?[0-9.]+(?:[eE][-+]?[0-9]+)?'
_V1_LINE = re.compile(r'^\d+,[^,]+,%s,%s,%s$' % (_NUM, _NUM, _NUM))


def _blocks(names, block_size):
    for lo in range(0, len(names), block_size):
        yield lo, min(len(names), lo + block_size)


class AzureWideFormat(base.TraceFormat):
    """Azure V1 in wide layout: step_5min,<vm>,... (avg, max beside it)."""

    name = 'azure-wide'
    description = ('Azure Public Dataset V1, wide CSV: step_5min,<vm>,... '
                   '(microsoft_avg_*.csv with microsoft_max_*.csv)')
    native_step = STEP

    @classmethod
    def diagnose(cls, head):
        for name, data in head.members:
            line = textio.first_line(data)
            if line.startswith(WIDE_FIRST + ','):
                return 1.0, '%s starts with %s' % (name, WIDE_FIRST)
            if line.split(';')[0].split('\t')[0] == WIDE_FIRST:
                return 0.6, ('%s starts with %s but is not comma-separated'
                             % (name, WIDE_FIRST))
        return 0.0, 'no file starts with "%s,"' % WIDE_FIRST

    @staticmethod
    def _metric_of(name):
        base_name = name.rsplit('/', 1)[-1].lower()
        if 'max' in base_name:
            return 'cpu_util_max'
        if 'min' in base_name:
            return 'cpu_util_min'
        return 'cpu_util'

    def _members(self, path):
        """The wide files to read: (metric, member)."""
        paths = [path]
        if (os.path.isfile(path) and not source_mod.is_archive(path) and
                self._metric_of(path) == 'cpu_util'):
            d, f = os.path.split(path)
            for other in ('max', 'min'):
                sib = os.path.join(d, f.replace('avg', other))
                if sib != path and os.path.isfile(sib):
                    paths.append(sib)
        for p in paths:
            for m in source_mod.Source(p).members():
                yield m

    def _parse(self, member, report):
        data = member.read()
        where = member.where
        if not data.strip():
            report.repair('empty_file', 1, [base.Where(where, None,
                                                       'empty file')])
            return None
        header = textio.first_line(data)
        fields = header.split(',')
        if fields[0].strip() != WIDE_FIRST:
            if header.split(';')[0].split('\t')[0].strip() == WIDE_FIRST:
                raise exception.TraceFormatError(
                    where, "wrong separator: expected ',' between fields, "
                    "found %s" % ("';'" if ';' in header else 'TAB'),
                    line=1)
            report.note('ignored_file', 1, [base.Where(
                where, 1, 'does not start with %s' % WIDE_FIRST)])
            return None
        vms = [f.strip() for f in fields[1:]]
        if len(set(vms)) != len(vms) or '' in vms:
            raise exception.TraceFormatError(
                where, "the header names a VM twice or has an empty name",
                line=1)
        table = textio.read_table(data, where, b',', len(fields), report,
                                  skip=1, what='%d fields (step and %d VMs)'
                                  % (len(fields), len(vms)))
        if table is None:
            report.repair('empty_file', 1, [base.Where(
                where, None, 'header but no data')])
            return None
        steps = table.columns[0]
        if np.any(steps != np.round(steps)) or np.any(steps < 0):
            r = int(np.flatnonzero((steps != np.round(steps)) |
                                   (steps < 0))[0])
            raise exception.TraceFormatError(
                where, "the step index %r is not a whole number >= 0"
                % steps[r], line=int(table.lines[r]))
        values = table.numeric(range(1, len(fields)))
        # Check rows as one series (the step column is shared).
        _, ts, values, lines = textio.check_samples(
            where, np.zeros(len(steps), dtype=np.int64), steps * STEP,
            values, table.lines, report, metric_names=vms,
            gap_step=STEP)
        report.files += 1
        return vms, ts, values

    def read_blocks(self, path, step, on_bad_data, report, block_size=64,
                    progress=None):
        step = self.grid_step(step, report)
        parsed = {}
        for m in self._members(path):
            p = self._parse(m, report)
            if p is None:
                continue
            metric = self._metric_of(m.name)
            if metric in parsed:
                raise exception.TraceError(
                    reason="%s: two wide files for %s (%s and %s); import "
                           "them one at a time"
                           % (path, metric, parsed[metric][0], m.where))
            parsed[metric] = (m.where,) + p
        if not parsed:
            raise exception.TraceError(
                reason="no azure-wide file in %s: looked for a CSV whose "
                       "header starts with '%s,'" % (path, WIDE_FIRST))
        metrics = [m for m, u in V1_METRICS if m in parsed]
        vms = list(dict.fromkeys(v for m in metrics for v in parsed[m][1]))
        # one set lookup per metric, not per value
        col = {m: pd.Index(parsed[m][1]) for m in metrics}
        for i, (lo, hi) in enumerate(_blocks(vms, block_size)):
            names = vms[lo:hi]
            ridx_all, ts_all, val_all = [], [], []
            for mi, m in enumerate(metrics):
                where, mvms, ts, values = parsed[m]
                idx = col[m].get_indexer(names)
                have = np.flatnonzero(idx >= 0)
                if not len(have):
                    continue
                v = values[:, idx[have]]            # (steps, vms)
                n_t = len(ts)
                ridx_all.append(np.repeat(have, n_t))
                ts_all.append(np.tile(ts, len(have)))
                block = np.full((len(have) * n_t, len(metrics)), np.nan)
                block[:, mi] = v.T.reshape(-1)
                val_all.append(block)
            f = textio.grid_frame(
                names, np.concatenate(ridx_all), np.concatenate(ts_all),
                np.concatenate(val_all), step, metrics,
                {m: u for m, u in V1_METRICS if m in metrics}, report,
                kind='vm', epoch_known=False)
            if progress:
                progress(hi, len(vms))
            yield f


class AzureV1Format(base.TraceFormat):
    """Azure V1 original layout: timestamp,vmid,min cpu,max cpu,avg cpu."""

    name = 'azure-v1'
    description = ('Azure Public Dataset V1, vm_cpu_readings-file-*.csv '
                   '(.gz): timestamp,vmid,min,max,avg CPU, no header')
    native_step = STEP

    @classmethod
    def _looks(cls, data):
        lines = [ln.strip() for ln in data.decode(
            'utf-8', 'replace').split('\n')[:6] if ln.strip()]
        if len(data) >= source_mod.Head.NBYTES and len(lines) > 1:
            lines = lines[:-1]
        return bool(lines) and all(_V1_LINE.match(ln) for ln in lines)

    @classmethod
    def diagnose(cls, head):
        for name, data in head.members:
            base_name = name.rsplit('/', 1)[-1]
            if cls._looks(data):
                score = 1.0 if base_name.startswith('vm_cpu_readings') \
                    else 0.8
                return score, '%s has timestamp,vmid,min,max,avg lines' % (
                    name)
        return 0.0, 'no file of timestamp,vmid,min,max,avg lines'

    def _parse(self, member, report):
        data = member.read()
        where = member.where
        if not data.strip():
            report.repair('empty_file', 1, [base.Where(where, None,
                                                       'empty file')])
            return None
        if not self._looks(data[:4096]):
            line = textio.first_line(data)
            if len(line.split(';')) == 5 or len(line.split('\t')) == 5:
                raise exception.TraceFormatError(
                    where, "wrong separator: expected ',' between the 5 "
                    "fields timestamp,vmid,min,max,avg, found %s"
                    % ("';'" if ';' in line else 'TAB'), line=1)
            if not member.basename.startswith('vm_cpu_readings'):
                report.note('ignored_file', 1, [base.Where(
                    where, 1, 'not timestamp,vmid,min,max,avg')])
                return None
        table = textio.read_table(
            data, where, b',', 5, report, text=(1,),
            what='5 fields (timestamp,vmid,min cpu,max cpu,avg cpu)')
        if table is None:
            report.repair('empty_file', 1, [base.Where(
                where, None, 'no data')])
            return None
        report.files += 1
        vm = table.columns[1]
        codes, uniques = pd.factorize(vm)
        # min, max, avg -> avg, max, min
        values = table.numeric([4, 3, 2])
        return (where, codes.astype(np.int64), list(uniques),
                table.columns[0], values, table.lines)

    def read_blocks(self, path, step, on_bad_data, report, block_size=64,
                    progress=None):
        step = self.grid_step(step, report)
        src = source_mod.Source(path)
        names = pd.Index([])
        parts = []
        for m in src.members(progress=progress):
            p = self._parse(m, report)
            if p is None:
                continue
            where, codes, uniques, ts, values, lines = p
            new = pd.Index(uniques).difference(names, sort=False)
            names = names.append(new)
            gmap = names.get_indexer(uniques)
            ridx = gmap[codes]
            ridx, ts, values, lines = textio.check_samples(
                where, ridx, ts, values, lines, report, names=names,
                metric_names=[mm for mm, u in V1_METRICS], gap_step=STEP)
            parts.append((ridx, ts, values.astype(np.float32)))
        if not parts:
            raise exception.TraceError(
                reason="no azure-v1 files in %s: looked for files of "
                       "timestamp,vmid,min cpu,max cpu,avg cpu lines" % path)
        ridx = np.concatenate([p[0] for p in parts])
        ts = np.concatenate([p[1] for p in parts])
        values = np.concatenate([p[2] for p in parts])
        del parts
        order = np.argsort(ridx, kind='stable')
        ridx, ts, values = ridx[order], ts[order], values[order]
        bounds = np.searchsorted(ridx, np.arange(len(names) + 1))
        vms = [str(n) for n in names]
        metrics = [mm for mm, u in V1_METRICS]
        for lo, hi in _blocks(vms, block_size):
            a, b = bounds[lo], bounds[hi]
            yield textio.grid_frame(
                vms[lo:hi], ridx[a:b] - lo, ts[a:b], values[a:b], step,
                metrics, dict(V1_METRICS), report, kind='vm',
                epoch_known=False)
