"""Helpers of the trace import tests: files the tests write themselves."""

import gzip
import io
import os
import tarfile

import fixtures

from irra_openstack.traces import api
from tests import base

GWA_HEADER = ';\t'.join((
    'Timestamp [ms]', 'CPU cores', 'CPU capacity provisioned [MHZ]',
    'CPU usage [MHZ]', 'CPU usage [%]', 'Memory capacity provisioned [KB]',
    'Memory usage [KB]', 'Disk read throughput [KB/s]',
    'Disk write throughput [KB/s]', 'Network received throughput [KB/s]',
    'Network transmitted throughput [KB/s]'))

#: 2013-07-01T00:00:00Z
T0 = 1372636800


def gwa_row(t, util=10.0, mem=1024.0, cap=4096.0, sep=';\t'):
    """A GWA-T-12 data line with simple, recognisable values."""
    return sep.join(str(v) for v in (
        t, 2, 5000.0, util * 50.0, util, cap, mem, 1.5, 2.5, 0.25, 0.5))


def gwa_text(rows, header=GWA_HEADER):
    return header + '\n' + '\n'.join(rows) + '\n'


class TraceTestCase(base.TestCase):
    """A test with a temporary folder to write traces into."""

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def write(self, rel, content):
        """Write ``content`` (str or bytes) at ``rel``; gzip for .gz."""
        full = self.path(rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        if rel.endswith('.gz'):
            data = gzip.compress(data)
        with open(full, 'wb') as f:
            f.write(data)
        return full

    def tar(self, folder, name, mode='w:xz'):
        """Pack ``folder`` (relative) into archive ``name``."""
        out = self.path(name)
        src = self.path(folder)
        with tarfile.open(out, mode) as tar:
            for top, dirs, files in os.walk(src):
                dirs.sort()
                for f in sorted(files):
                    full = os.path.join(top, f)
                    tar.add(full, arcname=os.path.relpath(full, src))
        return out

    def tar_members(self, name, members, mode='w:gz'):
        """An archive of ``{name: text}`` members, without files."""
        out = self.path(name)
        with tarfile.open(out, mode) as tar:
            for mname, text in members.items():
                data = text.encode()
                info = tarfile.TarInfo(mname)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return out

    def do_import(self, path, fmt='auto', **kw):
        """Import ``path`` and open the result: (report, trace)."""
        out = self.path('out-%d.irra' % len(os.listdir(self.tmp)))
        report = api.import_trace(path, out, fmt=fmt, **kw)
        trace = api.open_trace(out)
        self.addCleanup(trace.close)
        return report, trace
