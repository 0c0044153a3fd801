"""Tests of the canonical trace file, the API and irra-manage trace."""

import io
import json
import os
import zipfile

import fixtures
import numpy as np

from irra_openstack.cmd import trace_commands
from irra_openstack import exception
from irra_openstack import frame
from irra_openstack.traces import api
from irra_openstack.traces import base
from irra_openstack.traces import canonical
from irra_openstack.traces.formats import canonical as canonical_fmt
from tests.unit.traces import base as tbase
from tests.unit.traces.base import gwa_row
from tests.unit.traces.base import gwa_text
from tests.unit.traces.base import T0


def make_frame(n=5, steps=6, start=600, kind='vm'):
    values = np.arange(n * 2 * steps, dtype=np.float64).reshape(n, 2, steps)
    if n > 3:
        values[1, 0, 2] = np.nan
        values[3, :, :2] = np.nan
    return frame.MetricFrame(
        start=start, step=300, resources=['r%d' % i for i in range(n)],
        metrics=['cpu_util', 'mem_util'], values=values, kind=kind,
        units={'cpu_util': '%', 'mem_util': '%'},
        attributes={'r1': {'vcpus': 2}}, epoch_known=False)


class TestCanonical(tbase.TraceTestCase):

    def test_write_and_read_back(self):
        f = make_frame()
        out = self.path('t.irra')
        summary = api.write_trace(f, out, metadata={'who': 'test'},
                                  block_size=2)
        self.assertEqual(5, summary['resources'])
        self.assertAlmostEqual(5 / 60.0, summary['missing_fraction'])
        with api.open_trace(out) as t:
            self.assertEqual(f.resources, t.resources)
            self.assertEqual(f.metrics, t.metrics)
            self.assertEqual(600, t.start)
            self.assertEqual(6, t.n_steps)
            self.assertFalse(t.epoch_known)
            self.assertEqual({'who': 'test'}, t.metadata['metadata'])
            self.assertEqual(3, len(t.metadata['blocks']))
            back = t.read()
            np.testing.assert_array_equal(f.values, back.values)
            self.assertEqual(np.float32, back.values.dtype)
            self.assertEqual({'vcpus': 2}, dict(back.attributes['r1']))
            sub = t.read(resources=['r3', 'r0'], metrics=['mem_util'],
                         start=900, end=1800)
            np.testing.assert_array_equal(
                f.select(['r3', 'r0'], ['mem_util']).window(900, 1800).values,
                sub.values)
            # beyond the trace: missing
            wide = t.read(resources=['r0'], start=0, end=3000)
            self.assertEqual(10, wide.n_steps)
            self.assertTrue(np.isnan(wide.values[0, 0, :2]).all())
            blocks = list(t.iter_frames())
            self.assertEqual([2, 2, 1], [b.n_resources for b in blocks])
            stacked = frame.MetricFrame.concat_resources(blocks)
            np.testing.assert_array_equal(f.values, stacked.values)
            self.assertEqual(
                [3, 2], [b.n_resources for b in t.iter_frames(
                    block_size=3, metrics=['cpu_util'])])
            self.assertRaises(exception.InvalidFrame, t.read,
                              resources=['nope'])
            self.assertRaises(exception.InvalidFrame, t.read, start=601)
            self.assertRaises(exception.InvalidFrame, t.read,
                              metrics=['x'])
        # it is also a valid .npz
        with np.load(out) as npz:
            self.assertIn('blocks/000000', npz.files)

    def test_magic_and_sniff(self):
        out = self.path('t.irra')
        api.write_trace([make_frame()], out)
        with open(out, 'rb') as fh:
            self.assertTrue(canonical.is_canonical(fh.read(64)))
        self.assertEqual('irra', api.sniff_format(out))

    def test_frames_must_match(self):
        out = self.path('t.irra')
        f = make_frame()
        g = f.replace(resources=['x%d' % i for i in range(5)], start=601)
        self.assertRaises(exception.InvalidFrame, api.write_trace, [f, g],
                          out)
        self.assertRaises(exception.InvalidFrame, api.write_trace, [f, f],
                          out)
        self.assertFalse(os.path.exists(out))
        self.assertRaises(exception.TraceError, api.write_trace, [], out)

    def test_newer_version_and_garbage(self):
        out = self.path('t.irra')
        api.write_trace(make_frame(), out)
        with zipfile.ZipFile(out) as z:
            members = {n: z.read(n) for n in z.namelist()}
        meta = json.loads(members['meta.json'])
        meta['version'] = [2, 0]
        members['meta.json'] = json.dumps(meta).encode()
        newer = self.path('newer.irra')
        with zipfile.ZipFile(newer, 'w') as z:
            for n, d in members.items():
                z.writestr(n, d)
        exc = self.assertRaises(exception.TraceFormatError, api.open_trace,
                                newer)
        self.assertIn('upgrade', str(exc))
        junk = self.write('junk.irra', 'hello')
        self.assertRaises(exception.TraceFormatError, api.open_trace, junk)

    def test_reimport_on_a_coarser_grid(self):
        out = self.path('t.irra')
        api.write_trace(make_frame(start=0), out)
        report, t = self.do_import(out, step=600)
        self.assertEqual(600, t.step)
        f = t.read()
        np.testing.assert_allclose([0.5, 2.5, 4.5],
                                   f.series('r0', 'cpu_util'))
        np.testing.assert_allclose([12.5, 15, 16.5],
                                   f.series('r1', 'cpu_util'))
        report, t = self.do_import(out, fmt='irra', step=300)
        self.assertEqual(300, t.step)

    def test_coarsen_realigns(self):
        f = make_frame(n=1, steps=3, start=300)
        c = canonical_fmt._coarsen(f, 2)
        self.assertEqual(0, c.start)
        np.testing.assert_allclose([0, 1.5], c.values[0, 0])


class TestReport(tbase.TraceTestCase):

    def test_round_trip_and_examples(self):
        r = base.ImportReport('p', 'gwa-t-12')
        r.repair('nan', 5, [base.Where('f', i, 'x') for i in range(1, 6)])
        r.repair('nan', 1, [base.Where('g', 9, 'y')])
        r.note('gap', 3)
        r.repair('nan', 0)
        d = r.to_dict()
        self.assertEqual(6, d['repairs']['nan']['count'])
        self.assertEqual(['f:1: x', 'f:2: x', 'f:3: x'],
                         d['repairs']['nan']['examples'])
        self.assertEqual(d, base.ImportReport.from_dict(
            json.loads(json.dumps(d))).to_dict())
        self.assertIn('NaN or empty values, marked missing: 6', r.render())
        self.assertRaises(exception.ConfigError, base.ImportReport,
                          on_bad_data='ignore')

    def test_fail_names_file_and_line(self):
        r = base.ImportReport('p', on_bad_data='fail')
        exc = self.assertRaises(exception.BadDataError, r.repair, 'duplicate',
                                2, [base.Where('a.csv', 7, 'time 5')])
        self.assertIn('a.csv:7: time 5', str(exc))
        r.note('gap', 10)   # notes never fail


class TestApi(tbase.TraceTestCase):

    def test_unknown_format_lists_what_was_tried(self):
        p = self.write('x/data.txt', 'something else\n')
        exc = self.assertRaises(exception.UnknownFormat, api.sniff_format, p)
        for name in ('gwa-t-12', 'azure-wide', 'azure-v1', 'planetlab',
                     'alibaba-machine', 'irra'):
            self.assertIn(name, str(exc))
        self.assertRaises(exception.UnknownFormat, api.import_trace, p,
                          self.path('o.irra'))

    def test_unknown_format_name_and_policy(self):
        p = self.write('x/1.csv', gwa_text([gwa_row(T0)]))
        self.assertRaises(exception.PluginError, api.import_trace, p,
                          self.path('o.irra'), fmt='nope')
        self.assertRaises(exception.ConfigError, api.import_trace, p,
                          self.path('o.irra'), on_bad_data='maybe')

    def test_every_format_is_a_trace_format(self):
        for name in api.format_names():
            cls = api.format_class(name)
            self.assertTrue(issubclass(cls, base.TraceFormat))
            self.assertEqual(name, cls.name)
            self.assertTrue(cls.description)

    def test_abstract(self):
        self.assertRaises(TypeError, base.TraceFormat)


class TestTraceCommands(tbase.TraceTestCase):

    def test_import_and_info(self):
        self.write('vm/1.csv', gwa_text([gwa_row(T0), gwa_row(T0),
                                         gwa_row(T0 + 300)]))
        out = self.path('o.irra')
        stdout = self.useFixture(fixtures.MonkeyPatch('sys.stdout',
                                                      io.StringIO())).new_value
        cmds = trace_commands.TraceCommands(self.conf)
        cmds.import_(self.path('vm'), fmt='auto', out=out)
        text = stdout.getvalue()
        self.assertIn('format gwa-t-12', text)
        self.assertIn('duplicate timestamps, averaged: 1', text)
        self.assertIn('Wrote %s' % out, text)
        cmds.info(out)
        text = stdout.getvalue()
        self.assertIn('irra trace format 1.0', text)
        self.assertIn('resources: 1 vm', text)
        cmds.sniff(self.path('vm'))
        self.assertIn('gwa-t-12         1.00', stdout.getvalue())

    def test_defaults_from_conf(self):
        self.write('vm/1.csv', gwa_text([gwa_row(T0), gwa_row(T0)]))
        self.flags(group='traces', on_bad_data='fail', step=600)
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', io.StringIO()))
        cmds = trace_commands.TraceCommands(self.conf)
        self.assertRaises(exception.BadDataError, cmds.import_,
                          self.path('vm'), out=self.path('o.irra'))
        cmds.import_(self.path('vm'), out=self.path('o.irra'),
                     on_bad_data='repair')
        with api.open_trace(self.path('o.irra')) as t:
            self.assertEqual(600, t.step)

    def test_action_is_called_import(self):
        from irra_openstack.cmd import manage

        names = [n for n, f in manage._actions(trace_commands.TraceCommands)]
        self.assertEqual(['import', 'info', 'sniff'], sorted(names))
