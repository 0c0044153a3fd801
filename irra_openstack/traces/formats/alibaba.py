"""Alibaba cluster-trace-v2018 machine usage (hosts).

``machine_usage``: CSV without header, ``machine_id,time_stamp,
cpu_util_percent,mem_util_percent,mem_gps,mkpi,net_in,net_out,
disk_io_percent``, sampled every 10 to 60 s irregularly, the time stamp in
seconds from the trace start. The samples are averaged into the grid.
``mem_gps`` and ``mkpi`` are mostly empty in the published trace and are
not imported.

``machine_meta`` (``machine_id,time_stamp,failure_domain_1,
failure_domain_2,cpu_num,mem_size,status``), when it is beside the usage
file, gives each host its attributes (the latest record of each machine).
"""

import os
import re

import numpy as np
import pandas as pd

from irra_openstack import exception
from irra_openstack.traces import base
from irra_openstack.traces import source as source_mod
from irra_openstack.traces import textio

USAGE_FIELDS = 9
META_FIELDS = 7
#: (metric, unit, column in machine_usage)
METRICS = (('cpu_util', '%', 2), ('mem_util', '%', 3),
           ('net_in', '%', 6), ('net_out', '%', 7),
           ('disk_io_util', '%', 8))
_N = r'(?:-?[0-9.]+(?:[eE][-+]?\d+)?)?'
_USAGE = re.compile(r'^m_\d+,\d+,%s(?:,%s){6}$' % (_N, _N))
_META = re.compile(r'^m_\d+,\d+,[^,]*,[^,]*,%s,%s,[A-Za-z_]*$' % (_N, _N))


def _lines(data):
    text = data.decode('utf-8', 'replace').replace('\r', '')
    lines = [ln for ln in text.split('\n')[:8]]
    if len(data) >= source_mod.Head.NBYTES and len(lines) > 1:
        lines = lines[:-1]
    return [ln for ln in lines if ln.strip()]


def _kind(name, data):
    """'usage', 'meta' or None for a member."""
    lines = _lines(data)
    if lines and all(_USAGE.match(ln) for ln in lines):
        return 'usage'
    if lines and all(_META.match(ln) for ln in lines):
        return 'meta'
    return None


class AlibabaMachineFormat(base.TraceFormat):
    """Alibaba 2018 machine_usage (hosts), with machine_meta if beside."""

    name = 'alibaba-machine'
    description = ('Alibaba cluster-trace-v2018 machine_usage CSV (hosts), '
                   'with machine_meta beside it as attributes')
    native_step = None

    @classmethod
    def diagnose(cls, head):
        for name, data in head.members:
            if _kind(name, data) == 'usage':
                base_name = name.rsplit('/', 1)[-1]
                return (1.0 if 'machine_usage' in base_name else 0.9,
                        '%s has machine_usage lines' % name)
        return 0.0, 'no file of machine_usage lines (m_<n>,time,9 fields)'

    def _members(self, path):
        paths = [path]
        if os.path.isfile(path) and not source_mod.is_archive(path):
            d, f = os.path.split(path)
            if 'machine_usage' in f:
                sib = os.path.join(d, f.replace('machine_usage',
                                                'machine_meta'))
                if os.path.isfile(sib):
                    paths.append(sib)
        for p in paths:
            yield from source_mod.Source(p).members()

    def _wrong_sep(self, where, data, n):
        line = textio.first_line(data)
        for sep, name in ((';', "';'"), ('\t', 'TAB')):
            if len(line.split(sep)) == n:
                raise exception.TraceFormatError(
                    where, "wrong separator: expected %d fields separated "
                    "by ',', found %s" % (n, name), line=1)

    def read_blocks(self, path, step, on_bad_data, report, block_size=64,
                    progress=None):
        step = self.grid_step(step, report)
        usage, meta = [], []
        for m in self._members(path):
            data = m.read()
            where = m.where
            if not data.strip():
                report.repair('empty_file', 1, [base.Where(
                    where, None, 'empty file')])
                continue
            kind = _kind(m.name, data[:4096])
            if kind is None and 'machine_usage' in m.basename:
                self._wrong_sep(where, data, USAGE_FIELDS)
                kind = 'usage'
            if kind is None and 'machine_meta' in m.basename:
                self._wrong_sep(where, data, META_FIELDS)
                kind = 'meta'
            if kind == 'usage':
                usage.append(self._usage(where, data, report))
            elif kind == 'meta':
                meta.append((where, data))
            else:
                report.note('ignored_file', 1, [base.Where(
                    where, None, 'not machine_usage or machine_meta')])
        usage = [u for u in usage if u is not None]
        if not usage:
            raise exception.TraceError(
                reason="no machine_usage file in %s: looked for CSV lines "
                       "m_<n>,time_stamp,... with %d fields"
                       % (path, USAGE_FIELDS))
        hosts = pd.Index([])
        parts = []
        for where, ids, ts, values, lines in usage:
            codes, uniques = pd.factorize(ids)
            hosts = hosts.append(pd.Index(uniques).difference(
                hosts, sort=False))
            ridx = hosts.get_indexer(uniques)[codes]
            ridx, ts, values, lines = textio.check_samples(
                where, ridx, ts, values, lines, report, names=hosts,
                metric_names=[n for n, u, c in METRICS])
            parts.append((ridx, ts, values))
        names = sorted((str(h) for h in hosts), key=_host_key)
        rank = pd.Index(names).get_indexer(hosts)
        ridx = rank[np.concatenate([p[0] for p in parts])]
        ts = np.concatenate([p[1] for p in parts])
        values = np.concatenate([p[2] for p in parts])
        order = np.argsort(ridx, kind='stable')
        ridx, ts, values = ridx[order], ts[order], values[order]
        attrs = self._meta(meta, set(names), report)
        bounds = np.searchsorted(ridx, np.arange(len(names) + 1))
        for lo in range(0, len(names), block_size):
            hi = min(len(names), lo + block_size)
            a, b = bounds[lo], bounds[hi]
            block = names[lo:hi]
            yield textio.grid_frame(
                block, ridx[a:b] - lo, ts[a:b], values[a:b], step,
                [n for n, u, c in METRICS], {n: u for n, u, c in METRICS},
                report, kind='host', epoch_known=False,
                attributes={h: attrs[h] for h in block if h in attrs})
            if progress:
                progress(hi, len(names))

    def _usage(self, where, data, report):
        table = textio.read_table(
            data, where, b',', USAGE_FIELDS, report, text=(0,),
            what='%d fields (machine_id,time_stamp,cpu,mem,mem_gps,mkpi,'
                 'net_in,net_out,disk_io)' % USAGE_FIELDS)
        if table is None:
            report.repair('empty_file', 1, [base.Where(where, None,
                                                       'no data')])
            return None
        report.files += 1
        values = table.numeric([c for n, u, c in METRICS])
        return where, table.columns[0], table.columns[1], values, table.lines

    def _meta(self, metas, hosts, report):
        attrs = {}
        for where, data in metas:
            table = textio.read_table(
                data, where, b',', META_FIELDS, report, text=(0, 2, 3, 6),
                what='%d fields (machine_id,time_stamp,failure_domain_1,'
                     'failure_domain_2,cpu_num,mem_size,status)'
                     % META_FIELDS)
            if table is None:
                continue
            report.files += 1
            df = pd.DataFrame({
                'id': table.columns[0], 't': table.columns[1],
                'failure_domain_1': table.columns[2],
                'failure_domain_2': table.columns[3],
                'cpu_num': table.columns[4], 'mem_size': table.columns[5],
                'status': table.columns[6]})
            df = df[df['id'].isin(hosts)]
            last = df.sort_values(['id', 't'], kind='stable').groupby(
                'id', sort=False).tail(1)
            for rec in last.to_dict('records'):  # one per host
                a = {}
                for k in ('cpu_num', 'mem_size'):
                    if pd.notna(rec[k]):
                        a[k] = (int(rec[k]) if float(rec[k]).is_integer()
                                else float(rec[k]))
                for k in ('failure_domain_1', 'failure_domain_2',
                          'status'):
                    if pd.notna(rec[k]):
                        a[k] = str(rec[k])
                attrs[rec['id']] = a
        return attrs


def _host_key(name):
    m = re.match(r'^m_(\d+)$', name)
    return (0, int(m.group(1)), name) if m else (1, 0, name)
