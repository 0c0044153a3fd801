"""The Python API of irra's traces: import, sniff, write and open.

::

    from irra_openstack.traces import api

    report = api.import_trace('bitbrains_rnd_vm1-200.tar.xz', 'bb.irra')
    print(report.render())
    with api.open_trace('bb.irra') as trace:
        cpu = trace.read(metrics=['cpu_util'])
        for block in trace.iter_frames(block_size=32):
            ...
"""

from oslo_log import log as logging

from irra_openstack import exception
from irra_openstack import frame as frame_mod
from irra_openstack import plugins
from irra_openstack.traces import base
from irra_openstack.traces import canonical
from irra_openstack.traces import source

LOG = logging.getLogger(__name__)

NAMESPACE = 'irra.trace_formats'

#: A sniff score at least this high is taken as a match.
MATCH = 0.5


def format_names():
    """Names of the installed trace formats."""
    return plugins.available(NAMESPACE)


def format_class(name):
    """The TraceFormat class of format ``name``."""
    return plugins.load_class(NAMESPACE, name, base=base.TraceFormat)


def diagnose(path):
    """``[(score, name, reason)]`` for every installed format, best first."""
    head = source.Head.of(path)
    results = []
    for name in format_names():
        try:
            cls = format_class(name)
        except exception.PluginError as exc:
            results.append((0.0, name, str(exc)))
            continue
        score, reason = cls.diagnose(head)
        results.append((float(score), name, reason))
    results.sort(key=lambda r: (-r[0], r[1]))
    return results


def sniff_format(path):
    """The name of the format of ``path``, from its head.

    :raises UnknownFormat: when no format matches, or several match
        equally well, listing what was tried and why.
    """
    results = diagnose(path)
    tried = '; '.join('%s: %s' % (n, r) for s, n, r in results)
    if not results or results[0][0] < MATCH:
        raise exception.UnknownFormat(
            reason="%s is in no known trace format (tried %s). Name the "
                   "format with --format." % (path, tried))
    best = results[0]
    rivals = [r for r in results[1:] if r[0] >= MATCH and r[0] == best[0]]
    if rivals:
        raise exception.UnknownFormat(
            reason="%s looks like several trace formats (%s); name one "
                   "with --format" % (path, ', '.join(
                       n for s, n, r in [best] + rivals)))
    LOG.debug('%s sniffed as %s (%.2f: %s)', path, best[1], best[0],
              best[2])
    return best[1]


def import_trace(path, out, fmt='auto', step=300, on_bad_data='repair',
                 block_size=64, progress=None, metadata=None):
    """Import the trace at ``path`` into the canonical file ``out``.

    :param path: a file, folder or tar archive.
    :param fmt: a format name, or ``auto`` to sniff it.
    :param step: grid step in seconds (raised to the format's native step).
    :param on_bad_data: ``repair`` or ``fail``.
    :param block_size: resources per block, in memory and in the file.
    :param progress: optional ``progress(done, total)`` callable.
    :param metadata: extra JSON-able metadata to store.
    :returns: the :class:`~.base.ImportReport`.
    """
    if on_bad_data not in base.POLICIES:
        raise exception.ConfigError(
            reason="on_bad_data must be one of %s, got %r"
            % (', '.join(base.POLICIES), on_bad_data))
    name = sniff_format(path) if fmt in (None, 'auto') else fmt
    importer = format_class(name)()
    report = base.ImportReport(source=path, fmt=name,
                               on_bad_data=on_bad_data)
    writer = canonical.TraceWriter(out, block_size=block_size)
    LOG.debug('Importing %s trace %s into %s', name, path, out)
    with writer:
        for f in importer.read_blocks(path, step, on_bad_data, report,
                                      block_size=block_size,
                                      progress=progress):
            writer.write(f)
        writer.close(metadata=metadata, report=report,
                     source={'format': name, 'path': str(path),
                             'step_asked': int(step)})
    return report


def write_trace(frames, out, metadata=None, block_size=64):
    """Write a MetricFrame, or an iterable of them, as a canonical file.

    The frames must be of distinct resources, with the same step, metrics,
    kind and calendar, on one grid.

    :returns: the summary dict.
    """
    if isinstance(frames, frame_mod.MetricFrame):
        frames = [frames]
    writer = canonical.TraceWriter(out, block_size=block_size)
    with writer:
        for f in frames:
            writer.write(f)
        return writer.close(metadata=metadata,
                            source={'format': 'irra', 'path': None})


def open_trace(path):
    """Open a canonical trace file: a :class:`~.canonical.TraceFile`."""
    return canonical.TraceFile(path)
