"""irra-manage trace: import public and private traces, and inspect them."""

import os

from irra_openstack.cmd import common
from irra_openstack.traces import base


def _formats_help():
    from irra_openstack.traces import api

    try:
        names = api.format_names()
    except Exception:  # noqa: broad; --help must always work
        names = []
    return ', '.join(['auto'] + names)


class TraceCommands:
    """Import workload traces into irra's canonical trace file."""

    def __init__(self, conf):
        self.conf = conf

    @common.args('path', metavar='PATH',
                 help='The trace: a file, a folder, or a .tar, .tar.gz or '
                      '.tar.xz archive (read without unpacking).')
    @common.args('--format', dest='fmt', metavar='FMT', default='auto',
                 help='Trace format: %s. Default: auto (sniffed from the '
                      'head of PATH).' % _formats_help())
    @common.args('--out', metavar='FILE', required=True,
                 help='The canonical trace file to write (for example '
                      'bitbrains.irra). It is replaced only when the import '
                      'succeeds.')
    @common.args('--step', metavar='SECONDS', type=int, default=None,
                 help='Grid step in seconds. Default: [traces] step.')
    @common.args('--on-bad-data', dest='on_bad_data', default=None,
                 choices=list(base.POLICIES),
                 help='repair: repair readable but wrong data and report '
                      'it; fail: stop at the first such problem. Default: '
                      '[traces] on_bad_data.')
    @common.args('--block-size', dest='block_size', metavar='N', type=int,
                 default=None,
                 help='Resources per block. Default: [traces] block_size.')
    def import_(self, path, fmt='auto', out=None, step=None,
                on_bad_data=None, block_size=None):
        """Import a trace into a canonical trace file and print a report."""
        from irra_openstack.traces import api

        opts = self.conf.traces
        with common.Progress('Importing %s' % os.path.basename(
                os.path.normpath(path)), unit='file') as progress:
            report = api.import_trace(
                path, out, fmt=fmt or 'auto',
                step=opts.step if step is None else step,
                on_bad_data=on_bad_data or opts.on_bad_data,
                block_size=block_size or opts.block_size,
                progress=progress)
        print(report.render())
        print('Wrote %s (%.1f MB).' % (out, os.path.getsize(out) / 1e6))

    @common.args('path', metavar='FILE', help='A canonical trace file.')
    def info(self, path):
        """Print a summary of a canonical trace file."""
        from irra_openstack.traces import api

        with api.open_trace(path) as trace:
            meta = trace.metadata
            src = meta.get('source') or {}
            print('%s: irra trace format %s, %.1f MB, created %s by %s'
                  % (path, '.'.join(map(str, meta['version'])),
                     os.path.getsize(path) / 1e6, meta.get('created_at'),
                     meta.get('created_by')))
            if src.get('path'):
                print('  source:    %s (%s)'
                      % (src['path'], src.get('format')))
            for line in base.render_summary(meta.get('summary') or {}):
                print(line)
            print('  blocks:    %d' % len(meta['blocks']))
            if trace.attributes:
                print('  attributes: %d resources have some (%s)' % (
                    len(trace.attributes), ', '.join(sorted({
                        k for a in trace.attributes.values() for k in a}))))
            report = trace.report
            if report is not None:
                print('Import report:')
                for line in report.render(summary=False).splitlines():
                    print('  ' + line)

    @common.args('path', metavar='PATH',
                 help='A trace file, folder or archive.')
    def sniff(self, path):
        """Show how well PATH matches each trace format."""
        from irra_openstack.traces import api

        for score, name, reason in api.diagnose(path):
            print('%-16s %.2f  %s' % (name, score, reason))
