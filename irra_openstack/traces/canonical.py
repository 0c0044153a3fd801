"""irra's canonical trace file: one compact, self-describing file.

The file is a ZIP container (so also a valid NumPy ``.npz``) of:

``irra-trace``
    the first member, stored uncompressed: the text ``irra-trace <major>``.
    It makes the format recognisable from the first bytes of the file.
``blocks/NNNNNN.npy``
    one float32 array per block of at most ``block_size`` resources, of
    shape (resources, metrics, steps), NaN for missing; each block covers
    only the steps where its resources have data, from its own start.
``meta.json``
    everything else, written last: the format version, the grid (step,
    start, steps, calendar), metrics and units, resources, their kind and
    attributes, the block index, the source, the import report, and a
    summary.

See ``doc/source/admin/trace-format.rst`` for the full description. The file
is written block by block into a temporary file next to the target, which
is renamed into place only when it is complete.
"""

import datetime
import json
import os
import zipfile

import numpy as np

from irra_openstack import exception
from irra_openstack import frame as frame_mod
from irra_openstack import version

MAGIC_MEMBER = 'irra-trace'
META_MEMBER = 'meta.json'
FORMAT_NAME = 'irra-trace'
#: Major version: a reader refuses a file with a larger one.
FORMAT_MAJOR = 1
#: Minor version: additions a reader of the same major may ignore.
FORMAT_MINOR = 0
VALUE_DTYPE = '<f4'


def is_canonical(data):
    """Whether ``data`` (the first bytes of a file) is an irra trace."""
    name = MAGIC_MEMBER.encode()
    return (data[:4] == b'PK\x03\x04' and
            data[30:30 + len(name)] == name)


class TraceWriter:
    """Write a canonical trace file block by block.

    :param out: the file to write.
    :param block_size: at most this many resources per stored block.
    :param compresslevel: zlib level of the blocks, 0 (stored) to 9.
    """

    def __init__(self, out, block_size=64, compresslevel=1):
        self.out = str(out)
        self.block_size = int(block_size)
        if self.block_size <= 0:
            raise exception.TraceError(
                reason="block_size must be positive, got %d" % block_size)
        self._tmp = '%s.part-%d' % (self.out, os.getpid())
        self._level = int(compresslevel)
        self._zip = None
        self._grid = None
        self._resources = []
        self._seen = set()
        self._attributes = {}
        self._blocks = []
        self._present = None

    # -- writing --------------------------------------------------------

    def _open(self, f):
        d = os.path.dirname(os.path.abspath(self.out))
        if not os.path.isdir(d):
            raise exception.TraceError(
                reason="cannot write %s: folder %s does not exist"
                % (self.out, d))
        try:
            self._zip = zipfile.ZipFile(
                self._tmp, 'w', allowZip64=True,
                compression=(zipfile.ZIP_DEFLATED if self._level
                             else zipfile.ZIP_STORED),
                compresslevel=self._level or None)
        except OSError as exc:
            raise exception.TraceError(reason="cannot write %s: %s"
                                       % (self.out, exc))
        self._zip.writestr(MAGIC_MEMBER, '%s %d\n' % (FORMAT_NAME,
                                                      FORMAT_MAJOR),
                           compress_type=zipfile.ZIP_STORED)
        self._grid = {'step': f.step, 'metrics': list(f.metrics),
                      'units': dict(f.units), 'kind': f.kind,
                      'epoch_known': bool(f.epoch_known), 'ref': f.start}
        self._present = np.zeros(len(f.metrics), dtype=np.int64)

    def write(self, f):
        """Add the resources of MetricFrame ``f``."""
        if self._zip is None:
            self._open(f)
        g = self._grid
        if (f.step, list(f.metrics), f.kind, bool(f.epoch_known)) != (
                g['step'], g['metrics'], g['kind'], g['epoch_known']):
            raise exception.InvalidFrame(
                reason="a frame differs from the first in step, metrics, "
                       "kind or calendar")
        if (f.start - g['ref']) % g['step']:
            raise exception.InvalidFrame(
                reason="a frame is on a shifted grid (start %d, first "
                       "start %d, step %d)" % (f.start, g['ref'], g['step']))
        for r in f.resources:
            if r in self._seen:
                raise exception.InvalidFrame(
                    reason="resource %s is written twice" % r)
        g['units'].update(f.units)
        for i in range(0, f.n_resources, self.block_size):
            self._write_block(f, i, min(f.n_resources, i + self.block_size))

    def _write_block(self, f, lo, hi):
        values = f.values[lo:hi]
        have = ~np.isnan(values)
        steps_with = np.flatnonzero(have.any(axis=(0, 1)))
        if len(steps_with):
            a, b = int(steps_with[0]), int(steps_with[-1]) + 1
        else:
            a = b = 0
        block = np.ascontiguousarray(values[:, :, a:b], dtype=VALUE_DTYPE)
        self._present += have.sum(axis=(0, 2))
        member = 'blocks/%06d.npy' % len(self._blocks)
        with self._zip.open(member, 'w', force_zip64=True) as fh:
            np.lib.format.write_array(fh, block, allow_pickle=False)
        names = f.resources[lo:hi]
        self._blocks.append({
            'member': member, 'first': len(self._resources),
            'count': hi - lo, 'start': f.start + a * f.step,
            'steps': b - a})
        self._resources.extend(names)
        self._seen.update(names)
        for r in names:
            if r in f.attributes:
                self._attributes[r] = _jsonable(dict(f.attributes[r]))

    # -- finishing ------------------------------------------------------

    def summary(self):
        """A summary of what has been written (see render_summary)."""
        g = self._grid or {}
        blocks = [b for b in self._blocks if b['steps']]
        step = g.get('step', 0)
        if blocks:
            start = min(b['start'] for b in blocks)
            end = max(b['start'] + b['steps'] * step for b in blocks)
        else:
            start = end = g.get('ref', 0)
        n_steps = (end - start) // step if step else 0
        n_res = len(self._resources)
        metrics = g.get('metrics', [])
        cells = n_res * n_steps
        present = (self._present if self._present is not None
                   else np.zeros(len(metrics)))
        by_metric = {m: (1.0 - float(present[i]) / cells) if cells else 1.0
                     for i, m in enumerate(metrics)}
        total = cells * len(metrics)
        return {
            'resources': n_res, 'kind': g.get('kind'),
            'metrics': metrics, 'units': g.get('units', {}),
            'step': step, 'steps': int(n_steps), 'start': int(start),
            'end': int(end), 'span_seconds': int(end - start),
            'epoch_known': g.get('epoch_known'),
            'missing_fraction': (1.0 - float(present.sum()) / total
                                 if total else 1.0),
            'missing_by_metric': by_metric,
        }

    def close(self, metadata=None, report=None, source=None):
        """Write the metadata and move the file into place.

        :param metadata: extra JSON-able user metadata.
        :param report: the ImportReport; its summary is filled in here.
        :param source: ``{'format': ..., 'path': ...}``.
        :returns: the summary.
        """
        if self._zip is None:
            raise exception.TraceError(
                reason="no data to write to %s: the trace has no resources"
                % self.out)
        summary = self.summary()
        if report is not None:
            report.summary = summary
        g = self._grid
        meta = {
            'format': FORMAT_NAME,
            'version': [FORMAT_MAJOR, FORMAT_MINOR],
            'created_at': datetime.datetime.now(
                datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
            'created_by': 'irra-openstack %s' % version.version_string(),
            'step': g['step'], 'start': summary['start'],
            'n_steps': summary['steps'], 'epoch_known': g['epoch_known'],
            'kind': g['kind'], 'metrics': g['metrics'],
            'units': g['units'], 'value_dtype': VALUE_DTYPE,
            'resources': self._resources, 'attributes': self._attributes,
            'blocks': self._blocks, 'summary': summary,
            'source': _jsonable(source or {}),
            'import_report': report.to_dict() if report is not None
            else None,
            'metadata': _jsonable(metadata or {}),
        }
        try:
            self._zip.writestr(META_MEMBER, json.dumps(meta, indent=1),
                               compress_type=zipfile.ZIP_DEFLATED)
            self._zip.close()
            os.replace(self._tmp, self.out)
        except OSError as exc:
            self.abort()
            raise exception.TraceError(reason="cannot write %s: %s"
                                       % (self.out, exc))
        self._zip = None
        return summary

    def abort(self):
        """Give up: remove the partial file."""
        if self._zip is not None:
            try:
                self._zip.close()
            except (OSError, ValueError):
                pass
            self._zip = None
        try:
            os.unlink(self._tmp)
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None:
            self.abort()


def _jsonable(obj):
    """``obj`` with numpy scalars and mapping proxies made JSON-able."""
    if isinstance(obj, dict) or hasattr(obj, 'items'):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


class TraceFile:
    """A canonical trace file opened for reading.

    Use :func:`irra_openstack.traces.api.open_trace`. Attributes:
    ``resources``, ``metrics``, ``units``, ``kind``, ``attributes``,
    ``start``, ``step``, ``n_steps``, ``end``, ``epoch_known``,
    ``metadata`` (the whole ``meta.json``), ``report`` (ImportReport or
    None).
    """

    def __init__(self, path):
        self.path = str(path)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise exception.TraceError(reason="%s does not exist"
                                       % self.path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise exception.TraceFormatError(
                self.path, "not an irra trace file (%s)" % exc)
        try:
            magic = self._zip.read(MAGIC_MEMBER).decode().split()
            meta = json.loads(self._zip.read(META_MEMBER))
        except (KeyError, ValueError, zipfile.BadZipFile) as exc:
            self._zip.close()
            raise exception.TraceFormatError(
                self.path, "not an irra trace file or incomplete (%s)"
                % exc)
        major = int(meta.get('version', [0])[0])
        if magic[:1] != [FORMAT_NAME] or major > FORMAT_MAJOR or major < 1:
            self._zip.close()
            raise exception.TraceFormatError(
                self.path, "irra trace format version %s; this irra reads "
                "version %d.x; upgrade irra-openstack"
                % ('.'.join(map(str, meta.get('version', []))),
                   FORMAT_MAJOR))
        self.metadata = meta
        self.resources = tuple(meta['resources'])
        self.metrics = tuple(meta['metrics'])
        self.units = dict(meta['units'])
        self.kind = meta['kind']
        self.attributes = dict(meta.get('attributes') or {})
        self.start = int(meta['start'])
        self.step = int(meta['step'])
        self.n_steps = int(meta['n_steps'])
        self.epoch_known = bool(meta['epoch_known'])
        self._blocks = meta['blocks']
        self._index = {r: i for i, r in enumerate(self.resources)}
        self._cache = (None, None)

    @property
    def end(self):
        """Time just after the last step."""
        return self.start + self.n_steps * self.step

    @property
    def report(self):
        from irra_openstack.traces import base

        data = self.metadata.get('import_report')
        return base.ImportReport.from_dict(data) if data else None

    def close(self):
        self._zip.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return '<TraceFile %s: %d %s x %d metrics x %d steps of %ds>' % (
            self.path, len(self.resources), self.kind, len(self.metrics),
            self.n_steps, self.step)

    # -- reading --------------------------------------------------------

    def _load(self, bi):
        if self._cache[0] == bi:
            return self._cache[1]
        b = self._blocks[bi]
        try:
            with self._zip.open(b['member']) as fh:
                arr = np.lib.format.read_array(fh, allow_pickle=False)
        except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
            raise exception.TraceFormatError(
                self.path, "block %s is damaged (%s)" % (b['member'], exc))
        self._cache = (bi, arr)
        return arr

    def _grid_range(self, start, end):
        start = self.start if start is None else int(start)
        end = self.end if end is None else int(end)
        for t in (start, end):
            if (t - self.start) % self.step:
                raise exception.InvalidFrame(
                    reason="time %d is not on the grid of %s (start %d, "
                           "step %d)" % (t, self.path, self.start,
                                         self.step))
        return start, max(0, (end - start) // self.step)

    def _metric_index(self, metrics):
        if metrics is None:
            return list(range(len(self.metrics))), self.metrics
        unknown = [m for m in metrics if m not in self.metrics]
        if unknown:
            raise exception.InvalidFrame(
                reason="unknown metrics %s; %s has %s"
                % (', '.join(unknown), self.path, ', '.join(self.metrics)))
        return [self.metrics.index(m) for m in metrics], tuple(metrics)

    def read(self, resources=None, metrics=None, start=None, end=None):
        """A MetricFrame of the named resources, metrics and time range.

        :param resources: names (default all), in the order wanted.
        :param metrics: names (default all).
        :param start: first time (default the trace start); on the grid.
        :param end: time just after the last step (default the trace end).
        :returns: a MetricFrame with float32 values, NaN for missing.
        """
        if resources is None:
            rows = list(range(len(self.resources)))
        else:
            unknown = [r for r in resources if r not in self._index]
            if unknown:
                raise exception.InvalidFrame(
                    reason="unknown resources %s in %s"
                    % (', '.join(map(str, unknown[:5])), self.path))
            rows = [self._index[r] for r in resources]
        mi, mets = self._metric_index(metrics)
        start, n = self._grid_range(start, end)
        out = np.full((len(rows), len(mi), n), np.nan, dtype=np.float32)
        firsts = np.array([b['first'] for b in self._blocks], dtype=np.int64)
        rows_arr = np.asarray(rows, dtype=np.int64)
        block_of = np.searchsorted(firsts, rows_arr, side='right') - 1
        for bi in np.unique(block_of):
            b = self._blocks[bi]
            lo = (b['start'] - start) // self.step
            a0, a1 = max(0, -lo), min(b['steps'], n - lo)
            if a1 <= a0:
                continue
            arr = self._load(int(bi))
            sel = np.flatnonzero(block_of == bi)
            local = rows_arr[sel] - b['first']
            out[sel, :, lo + a0:lo + a1] = arr[local][:, mi, a0:a1]
        return self._frame([self.resources[r] for r in rows], mets, start,
                           out)

    def _frame(self, names, mets, start, values):
        return frame_mod.MetricFrame(
            start=start, step=self.step, resources=names, metrics=mets,
            values=values, kind=self.kind,
            units={m: self.units[m] for m in mets if m in self.units},
            attributes={r: self.attributes[r] for r in names
                        if r in self.attributes},
            epoch_known=self.epoch_known)

    def iter_frames(self, block_size=None, metrics=None, start=None,
                    end=None):
        """Stream the trace as MetricFrames, block by block.

        Each frame has at most ``block_size`` resources (default: the
        stored blocks) and spans ``start``..``end`` (default the whole
        trace), so frames can be stacked without realigning them.
        """
        if block_size is None:
            for b in self._blocks:
                names = self.resources[b['first']:b['first'] + b['count']]
                yield self.read(resources=names, metrics=metrics,
                                start=start, end=end)
            return
        block_size = int(block_size)
        if block_size <= 0:
            raise exception.InvalidFrame(
                reason="block_size must be positive, got %d" % block_size)
        for i in range(0, len(self.resources), block_size):
            yield self.read(resources=self.resources[i:i + block_size],
                            metrics=metrics, start=start, end=end)
