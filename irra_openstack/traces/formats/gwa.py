"""GWA-T-12 (Bitbrains) and GWA-T-13 (Materna) VM traces.

One CSV file per VM, with one header line, fields separated by ``;`` and a
TAB, the timestamp in Unix seconds (despite the ``[ms]`` in the header)
about every 5 minutes. A trace may be split into month folders
(``rnd/2013-7/1.csv``, ``2013-7/1.csv``) or be one flat folder: files with
the same name are the same VM, wherever they are.
"""

import re

import numpy as np

from irra_openstack import exception
from irra_openstack.traces import base
from irra_openstack.traces import source as source_mod
from irra_openstack.traces import textio

HEADER = ('Timestamp [ms]', 'CPU cores', 'CPU capacity provisioned [MHZ]',
          'CPU usage [MHZ]', 'CPU usage [%]',
          'Memory capacity provisioned [KB]', 'Memory usage [KB]',
          'Disk read throughput [KB/s]', 'Disk write throughput [KB/s]',
          'Network received throughput [KB/s]',
          'Network transmitted throughput [KB/s]')

#: (metric, unit) of the file's columns after the timestamp.
FILE_METRICS = (
    ('cpu_cores', 'cores'), ('cpu_capacity_mhz', 'MHz'),
    ('cpu_usage_mhz', 'MHz'), ('cpu_util', '%'),
    ('mem_capacity_kib', 'KiB'), ('mem_usage_kib', 'KiB'),
    ('disk_read_kibps', 'KiB/s'), ('disk_write_kibps', 'KiB/s'),
    ('net_rx_kibps', 'KiB/s'), ('net_tx_kibps', 'KiB/s'))

#: The imported metrics: the file's, with mem_util derived after memory.
METRICS = (FILE_METRICS[:6] + (('mem_util', '%'),) + FILE_METRICS[6:])
_MEM_CAP = 4
_MEM_USE = 5


def _norm(field):
    return re.sub(r'\s+', ' ', field.strip().lower())


_NORM_HEADER = [_norm(h) for h in HEADER]


def header_status(line):
    """``('ok' | 'sep' | 'no', found separator)`` for a first line."""
    if [_norm(f) for f in line.split(';')] == _NORM_HEADER:
        return 'ok', ';'
    for sep, name in ((',', "','"), ('\t', 'TAB'), ('|', "'|'")):
        if [_norm(f) for f in line.split(sep)] == _NORM_HEADER:
            return 'sep', name
    return 'no', None


class _Parsed:
    __slots__ = ('where', 'ts', 'values', 'lines')

    def __init__(self, where, ts, values, lines):
        self.where, self.ts, self.values, self.lines = (where, ts, values,
                                                        lines)


class GwaT12Format(base.TraceFormat):
    """Bitbrains / Materna (GWA-T-12, GWA-T-13): one ';\\t' CSV per VM."""

    name = 'gwa-t-12'
    description = ('Grid Workloads Archive GWA-T-12 Bitbrains and GWA-T-13 '
                   'Materna VM traces (one ";<TAB>" CSV per VM)')
    native_step = 300

    @classmethod
    def diagnose(cls, head):
        csvs = [(n, d) for n, d in head.members if n.endswith('.csv')]
        if not csvs:
            return 0.0, 'no .csv files'
        for name, data in csvs:
            status, sep = header_status(textio.first_line(data))
            if status == 'ok':
                return 1.0, '%s has the GWA-T-12 header' % name
            if status == 'sep':
                return 0.6, ('%s has the GWA-T-12 header with %s as '
                             'separator' % (name, sep))
        return 0.0, 'no .csv file with the GWA-T-12 header'

    def _parse(self, member, report):
        data = member.read()
        where = member.where
        if not data.strip():
            report.repair('empty_file', 1, [base.Where(where, None,
                                                       'empty file')])
            return None
        status, sep = header_status(textio.first_line(data))
        if status == 'no':
            report.note('ignored_file', 1, [base.Where(
                where, 1, 'not the GWA-T-12 header')])
            return None
        if status == 'sep':
            raise exception.TraceFormatError(
                where, "wrong separator: expected ';' and a TAB between "
                "fields, found %s" % sep, line=1)
        table = textio.read_table(
            data, where, b';', len(HEADER), report, skip=1,
            what='%d fields' % len(HEADER))
        if table is None:
            report.repair('empty_file', 1, [base.Where(
                where, None, 'header but no data')])
            return None
        ts = table.columns[0]
        values = table.numeric(range(1, len(HEADER)))
        _, ts, values, lines = textio.check_samples(
            where, np.zeros(len(ts), dtype=np.int64), ts, values,
            table.lines, report, metric_names=[m for m, u in FILE_METRICS],
            gap_step=self.native_step)
        report.files += 1
        return _Parsed(where, ts, values.astype(np.float32), lines)

    def read_blocks(self, path, step, on_bad_data, report, block_size=64,
                    progress=None):
        step = self.grid_step(step, report)
        src = source_mod.Source(path)
        seen = [0]

        def key(member):
            seen[0] += 1
            if not member.name.endswith('.csv'):
                report.note('ignored_file', 1, [base.Where(
                    member.where, None, 'not a .csv file')])
                return None
            return member.basename[:-4]

        groups = src.group(key, lambda m: self._parse(m, report),
                           order=textio.natural_key, progress=progress)
        produced = False
        for batch in base.batches(groups, block_size):
            produced = True
            yield self._block(batch, step, report)
        if not produced and not report.files:
            raise exception.TraceError(
                reason="no GWA-T-12 files in %s: looked for .csv files with "
                       "the header %r (%d files seen)"
                       % (path, ';\t'.join(HEADER[:3]) + ';\t...', seen[0]))

    def _block(self, batch, step, report):
        names = [vm for vm, parsed in batch]
        ridx = np.concatenate([np.full(len(p.ts), i, dtype=np.int64)
                               for i, (vm, ps) in enumerate(batch)
                               for p in ps])
        ts = np.concatenate([p.ts for vm, ps in batch for p in ps])
        values = np.concatenate([p.values for vm, ps in batch for p in ps])
        f = textio.grid_frame(
            names, ridx, ts, values, step, [m for m, u in FILE_METRICS],
            dict(FILE_METRICS), report, kind='vm', epoch_known=True)
        v = f.values
        cap, use = v[:, _MEM_CAP, :], v[:, _MEM_USE, :]
        with np.errstate(invalid='ignore', divide='ignore'):
            mem = np.where(cap > 0, 100.0 * use / cap, np.nan)
        undefined = int(np.count_nonzero(~np.isnan(use) & ~(cap > 0)))
        report.note('undefined', undefined,
                    text='mem_util undefined where memory capacity is 0 '
                         '(missing)')
        # A VM cannot use more memory than it was given: such a sample is
        # corrupt (the Bitbrains files have a few, up to 2,000 times the
        # capacity), and one of them would outweigh weeks of real values
        # in any error or sum. Its mem_util is missing, as in a gap.
        with np.errstate(invalid='ignore'):
            over = mem > 100.0
        if over.any():
            rows, cols = np.nonzero(over)
            report.repair('over_capacity', len(rows), [
                base.Where(names[r], None, 'mem_util %.0f %% at %s' % (
                    mem[r, c], base.format_time(f.start + c * f.step,
                                                True)))
                for r, c in zip(rows[:3], cols[:3])])
            mem[over] = np.nan
        values = np.concatenate(
            [v[:, :_MEM_USE + 1], mem[:, None, :], v[:, _MEM_USE + 1:]],
            axis=1)
        return f.replace(metrics=[m for m, u in METRICS], values=values,
                         units=dict(METRICS))
