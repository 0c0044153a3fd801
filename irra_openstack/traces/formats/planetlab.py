"""PlanetLab CoMon CPU traces as shipped with CloudSim.

One folder per day, named ``YYYYMMDD``, with one file per VM: no header,
288 lines, one CPU utilisation percentage (an integer) per line, for the
consecutive 5-minute intervals of that day (taken as UTC).

A VM is named ``<node host with _>_<slice>``: a PlanetLab *sliver*, the VM
of one slice on one node. A sliver lives as long as its slice does on that
node, so the same name on several days is the same VM: the days become one
series per name, missing on the days it is absent.
"""

import calendar
import re

import numpy as np

from irra_openstack import exception
from irra_openstack.traces import base
from irra_openstack.traces import source as source_mod
from irra_openstack.traces import textio

STEP = 300
STEPS_PER_DAY = 288
_DAY = re.compile(r'^(\d{4})(\d{2})(\d{2})$')
_INT_LINES = re.compile(rb'^(?:[ \t]*-?\d+(?:\.\d*)?[ \t]*\r?\n){3}')


def day_start(name):
    """POSIX time of midnight UTC of a ``YYYYMMDD`` name, or None."""
    m = _DAY.match(name or '')
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31 and 1990 <= y <= 2100):
        return None
    try:
        return calendar.timegm((y, mo, d, 0, 0, 0))
    except (ValueError, OverflowError):
        return None


class PlanetLabFormat(base.TraceFormat):
    """PlanetLab (CloudSim): <YYYYMMDD>/<vm> files of 288 CPU % lines."""

    name = 'planetlab'
    description = ('PlanetLab CoMon traces from CloudSim: YYYYMMDD/<vm> '
                   'files of 288 CPU %% lines')
    native_step = STEP

    @classmethod
    def _day_of(cls, name, root_name):
        parts = name.split('/')
        if len(parts) > 1:
            return day_start(parts[-2])
        return day_start(root_name)

    @classmethod
    def diagnose(cls, head):
        in_day = [(n, d) for n, d in head.members
                  if cls._day_of(n, head.root_name) is not None]
        if not in_day:
            return 0.0, 'no files in a YYYYMMDD folder'
        good = [n for n, d in in_day if _INT_LINES.match(d)]
        if not good:
            return 0.1, ('files in a YYYYMMDD folder, but not one number '
                         'per line')
        share = len(good) / float(len(in_day))
        return (0.95 if share > 0.5 else 0.4), (
            '%d of %d files in YYYYMMDD folders have one number per line'
            % (len(good), len(in_day)))

    def _parse(self, member, root_name, report):
        day = self._day_of(member.name, root_name)
        data = member.read()
        where = member.where
        if not data.strip():
            report.repair('empty_file', 1, [base.Where(where, None,
                                                       'empty file')])
            return None
        values = None
        lines = None
        chunks = data.split(b'\n')
        if chunks and chunks[-1] == b'':
            chunks.pop()
        try:
            # Fast path: every line a number (one C-level conversion).
            values = np.array(chunks).astype(np.float64)
            lines = np.arange(1, len(values) + 1)
        except ValueError:
            for sep, name in ((b',', "','"), (b';', "';'"), (b'\t', 'TAB')):
                if sep in data:
                    i = next(k for k, c in enumerate(chunks) if sep in c)
                    raise exception.TraceFormatError(
                        where, "wrong separator: expected one number per "
                        "line, found several separated by %s" % name,
                        line=i + 1)
            table = textio.read_table(data, where, b',', 1, report,
                                      what='one number per line')
            if table is None:
                report.repair('empty_file', 1, [base.Where(
                    where, None, 'no data')])
                return None
            values, lines = table.columns[0], table.lines
        if len(values) and lines[-1] > STEPS_PER_DAY:
            raise exception.TraceFormatError(
                where, "a PlanetLab day file has %d lines (5-minute "
                "intervals), this one has %d"
                % (STEPS_PER_DAY, int(lines[-1])), line=STEPS_PER_DAY + 1)
        # The line number is the interval of the day.
        ts = day + (lines - 1) * float(STEP)
        _, ts, vals, lines = textio.check_samples(
            where, np.zeros(len(ts), dtype=np.int64), ts,
            values.reshape(-1, 1), lines, report, metric_names=['cpu_util'],
            gap_step=STEP)
        if len(lines) < STEPS_PER_DAY:
            report.note('gap', 0, [base.Where(
                where, None, 'only %d of %d lines'
                % (len(lines), STEPS_PER_DAY))])
        report.files += 1
        return ts, vals.astype(np.float32)

    def read_blocks(self, path, step, on_bad_data, report, block_size=64,
                    progress=None):
        step = self.grid_step(step, report)
        src = source_mod.Source(path)
        root = src.root_name
        seen = [0]

        def key(member):
            seen[0] += 1
            if self._day_of(member.name, root) is None:
                report.note('ignored_file', 1, [base.Where(
                    member.where, None, 'not in a YYYYMMDD folder')])
                return None
            return member.basename

        groups = src.group(key, lambda m: self._parse(m, root, report),
                           progress=progress)
        produced = False
        for batch in base.batches(groups, block_size):
            produced = True
            yield self._block(batch, step, report)
        if not produced and not report.files:
            raise exception.TraceError(
                reason="no PlanetLab files in %s: looked for files in "
                       "YYYYMMDD folders (%d files seen)" % (path, seen[0]))

    def _block(self, batch, step, report):
        names = [vm for vm, parsed in batch]
        ridx = np.concatenate([np.full(len(p[0]), i, dtype=np.int64)
                               for i, (vm, ps) in enumerate(batch)
                               for p in ps])
        ts = np.concatenate([p[0] for vm, ps in batch for p in ps])
        values = np.concatenate([p[1] for vm, ps in batch for p in ps])
        return textio.grid_frame(
            names, ridx, ts, values, step, ['cpu_util'], {'cpu_util': '%'},
            report, kind='vm', epoch_known=True)
