"""Tests of the GWA-T-12 (Bitbrains) importer, including bad input."""

import os

import numpy as np

from irra_openstack import exception
from irra_openstack.traces import api
from irra_openstack.traces.formats import gwa
from tests.unit.traces import base as tbase
from tests.unit.traces.base import gwa_row
from tests.unit.traces.base import gwa_text
from tests.unit.traces.base import T0


class TestGwaImport(tbase.TraceTestCase):

    def _months(self):
        # VM 1 in two month folders, VM 2 in the first only, VM 10 too.
        self.write('rnd/2013-7/1.csv', gwa_text(
            [gwa_row(T0 + 300 * i, util=i) for i in range(4)]))
        self.write('rnd/2013-8/1.csv', gwa_text(
            [gwa_row(T0 + 300 * i, util=i) for i in range(10, 12)]))
        self.write('rnd/2013-7/2.csv', gwa_text(
            [gwa_row(T0 + 300 * i + 7, util=50, mem=2048) for i in range(3)]))
        self.write('rnd/2013-7/10.csv', gwa_text(
            [gwa_row(T0 + 300 * i, util=1) for i in range(2)]))
        return self.path('rnd')

    def test_sniff(self):
        path = self._months()
        self.assertEqual(1.0, gwa.GwaT12Format.sniff(path))
        self.assertEqual('gwa-t-12', api.sniff_format(path))

    def test_round_trip_known_values(self):
        path = self._months()
        report, trace = self.do_import(path, fmt='auto')
        self.assertEqual(('1', '2', '10'), trace.resources)
        self.assertEqual(tuple(m for m, u in gwa.METRICS), trace.metrics)
        self.assertEqual('%', trace.units['mem_util'])
        self.assertEqual('KiB', trace.units['mem_usage_kib'])
        self.assertTrue(trace.epoch_known)
        self.assertEqual(T0, trace.start)
        self.assertEqual(300, trace.step)
        self.assertEqual(12, trace.n_steps)
        f = trace.read()
        cpu = f.series('1', 'cpu_util')
        np.testing.assert_allclose([0, 1, 2, 3], cpu[:4])
        np.testing.assert_allclose([10, 11], cpu[10:12])
        self.assertTrue(np.isnan(cpu[4:10]).all())
        # the 7 s jitter of VM 2 is snapped onto the grid
        np.testing.assert_allclose([50, 50, 50], f.series('2', 'cpu_util')[
            :3])
        np.testing.assert_allclose(50.0, f.series('2', 'mem_util')[0])
        np.testing.assert_allclose(25.0, f.series('1', 'mem_util')[0])
        np.testing.assert_allclose(0.25, f.series('10', 'net_rx_kibps')[1])
        self.assertEqual(4, report.files)
        self.assertEqual({}, report.repairs)
        self.assertEqual(6, report.notes['gap']['count'])
        self.assertEqual(3, report.summary['resources'])
        self.assertIn('format gwa-t-12, 4 files', report.render())

    def test_flat_folder_and_single_file(self):
        self.write('flat/5.csv', gwa_text([gwa_row(T0, util=3)]))
        report, trace = self.do_import(self.path('flat'), fmt='gwa-t-12')
        self.assertEqual(('5',), trace.resources)
        report, trace = self.do_import(self.path('flat', '5.csv'))
        self.assertEqual(3.0, trace.read().series('5', 'cpu_util')[0])

    def test_archives_give_the_same_values(self):
        path = self._months()
        _, ref = self.do_import(path)
        for name, mode in (('t.tar.xz', 'w:xz'), ('t.tar.gz', 'w:gz'),
                           ('t.tar', 'w')):
            archive = self.tar('rnd', name, mode)
            self.assertEqual('gwa-t-12', api.sniff_format(archive))
            report, trace = self.do_import(archive)
            self.assertEqual(ref.resources, trace.resources)
            np.testing.assert_array_equal(ref.read().values,
                                          trace.read().values)
            self.assertEqual(4, report.files)

    def test_bigger_step_averages(self):
        self.write('a/1.csv', gwa_text(
            [gwa_row(T0 + 300 * i, util=i) for i in range(12)]))
        report, trace = self.do_import(self.path('a'), step=3600)
        self.assertEqual(3600, trace.step)
        np.testing.assert_allclose([5.5], trace.read().series(
            '1', 'cpu_util'))

    def test_smaller_step_is_raised_to_native(self):
        self.write('a/1.csv', gwa_text([gwa_row(T0), gwa_row(T0 + 300)]))
        report, trace = self.do_import(self.path('a'), step=60)
        self.assertEqual(300, trace.step)
        self.assertIn('step', report.notes)

    def test_step_not_multiple_of_native(self):
        self.write('a/1.csv', gwa_text([gwa_row(T0)]))
        self.assertRaisesRegex(exception.TraceError, 'not a multiple',
                               api.import_trace, self.path('a'),
                               self.path('o.irra'), step=450)


class TestGwaBadInput(tbase.TraceTestCase):

    def _one(self, rows, header=tbase.GWA_HEADER, text=None, name='1.csv'):
        path = self.write('vm/' + name,
                          text if text is not None else gwa_text(rows,
                                                                 header))
        return self.path('vm'), path

    def _both(self, folder, kind):
        """Import with repair (report kind) and with fail (error)."""
        report, trace = self.do_import(folder, fmt='gwa-t-12')
        self.assertIn(kind, report.repairs)
        exc = self.assertRaises(
            exception.BadDataError, api.import_trace, folder,
            self.path('fail.irra'), fmt='gwa-t-12', on_bad_data='fail')
        self.assertFalse(os.path.exists(self.path('fail.irra')))
        return report, trace, str(exc)

    def test_wrong_separator_in_header(self):
        folder, path = self._one(
            [gwa_row(T0, sep=',')], header=tbase.GWA_HEADER.replace(';\t',
                                                                    ','))
        exc = self.assertRaises(exception.TraceFormatError, api.import_trace,
                                folder, self.path('o.irra'), fmt='gwa-t-12')
        self.assertEqual(1, exc.line)
        self.assertIn(path + ':1', str(exc))
        self.assertIn("expected ';'", str(exc))
        self.assertIn("found ','", str(exc))

    def test_wrong_separator_in_data_line(self):
        folder, path = self._one([gwa_row(T0), gwa_row(T0 + 300, sep=',')])
        exc = self.assertRaises(exception.TraceFormatError, api.import_trace,
                                folder, self.path('o.irra'), fmt='gwa-t-12')
        self.assertEqual(3, exc.line)
        self.assertIn('wrong separator', str(exc))
        self.assertIn("found ','", str(exc))
        self.assertFalse(os.path.exists(self.path('o.irra')))

    def test_unsorted(self):
        folder, path = self._one([gwa_row(T0, util=1),
                                  gwa_row(T0 + 600, util=3),
                                  gwa_row(T0 + 300, util=2)])
        report, trace, err = self._both(folder, 'unsorted')
        np.testing.assert_allclose([1, 2, 3], trace.read().series(
            '1', 'cpu_util'))
        self.assertIn(path + ':4', err)
        self.assertIn(path + ':4', report.repairs['unsorted']['examples'][0])

    def test_duplicates_are_averaged(self):
        folder, path = self._one([gwa_row(T0, util=1),
                                  gwa_row(T0 + 300, util=2),
                                  gwa_row(T0 + 300, util=4)])
        report, trace, err = self._both(folder, 'duplicate')
        np.testing.assert_allclose([1, 3], trace.read().series(
            '1', 'cpu_util'))
        self.assertEqual(1, report.repairs['duplicate']['count'])
        self.assertIn(path + ':4', err)

    def test_gap_is_missing_and_reported(self):
        folder, path = self._one([gwa_row(T0, util=1),
                                  gwa_row(T0 + 900, util=4)])
        report, trace = self.do_import(folder, on_bad_data='fail')
        cpu = trace.read().series('1', 'cpu_util')
        self.assertEqual(4, len(cpu))
        self.assertTrue(np.isnan(cpu[1:3]).all())
        self.assertEqual(2, report.notes['gap']['count'])
        self.assertIn(path + ':2', report.notes['gap']['examples'][0])

    def test_nan(self):
        row = gwa_row(T0 + 300).split(';\t')
        row[4] = 'NaN'
        folder, path = self._one([gwa_row(T0), ';\t'.join(row)])
        report, trace, err = self._both(folder, 'nan')
        f = trace.read()
        self.assertTrue(np.isnan(f.series('1', 'cpu_util')[1]))
        self.assertEqual(5000.0, f.series('1', 'cpu_capacity_mhz')[1])
        self.assertIn(path + ':3', err)
        self.assertIn('cpu_util', err)

    def test_empty_field_is_nan(self):
        row = gwa_row(T0 + 300).split(';\t')
        row[2] = ''
        folder, path = self._one([gwa_row(T0), ';\t'.join(row)])
        report, trace, err = self._both(folder, 'nan')

    def test_negative(self):
        folder, path = self._one([gwa_row(T0), gwa_row(T0 + 300, util=-5)])
        report, trace, err = self._both(folder, 'negative')
        self.assertTrue(np.isnan(trace.read().series('1', 'cpu_util')[1]))
        self.assertIn(path + ':3', err)
        self.assertIn('cpu_usage_mhz is -250', err)

    def test_memory_above_capacity_is_missing(self):
        # 4096 KB given: 4096 KB used is 100 %, 9000 KB is corrupt.
        folder, path = self._one([gwa_row(T0, mem=4096.0),
                                  gwa_row(T0 + 300, mem=9000.0),
                                  gwa_row(T0 + 600, mem=2048.0)])
        report, trace, err = self._both(folder, 'over_capacity')
        f = trace.read()
        mem = f.series('1', 'mem_util')
        np.testing.assert_allclose([100.0, 50.0], mem[[0, 2]])
        self.assertTrue(np.isnan(mem[1]))
        # The raw usage is kept; only the impossible share is dropped.
        self.assertEqual(9000.0, f.series('1', 'mem_usage_kib')[1])
        self.assertEqual(1, report.repairs['over_capacity']['count'])
        self.assertIn('mem_util 220 %', err)
        self.assertIn('memory use above the memory the VM was given', err)

    def test_truncated_last_line(self):
        text = gwa_text([gwa_row(T0), gwa_row(T0 + 300, util=7)])
        text += gwa_row(T0 + 600)[:25]
        folder, path = self._one(None, text=text)
        report, trace, err = self._both(folder, 'truncated')
        cpu = trace.read().series('1', 'cpu_util')
        np.testing.assert_allclose([10, 7], cpu)
        self.assertIn(path + ':4', err)

    def test_cut_after_separator(self):
        text = gwa_text([gwa_row(T0)]) + gwa_row(T0 + 300).rsplit(
            ';\t', 1)[0] + ';\t'
        folder, path = self._one(None, text=text)
        report, trace, err = self._both(folder, 'truncated')
        self.assertIn(path + ':3', err)
        self.assertEqual(1, trace.n_steps)

    def test_malformed_line_in_the_middle(self):
        folder, path = self._one([gwa_row(T0), '1372637100;\t2;\t3',
                                  gwa_row(T0 + 600)])
        exc = self.assertRaises(exception.TraceFormatError, api.import_trace,
                                folder, self.path('o.irra'),
                                on_bad_data='repair')
        self.assertEqual(3, exc.line)
        self.assertIn(path + ':3', str(exc))
        self.assertIn('expected 11 fields', str(exc))

    def test_not_a_number_in_the_middle(self):
        row = gwa_row(T0 + 300).split(';\t')
        row[3] = 'abc'
        folder, path = self._one([gwa_row(T0), ';\t'.join(row),
                                  gwa_row(T0 + 600)])
        exc = self.assertRaises(exception.TraceFormatError, api.import_trace,
                                folder, self.path('o.irra'))
        self.assertEqual(3, exc.line)
        self.assertIn("'abc'", str(exc))

    def test_blank_line_in_the_middle(self):
        folder, path = self._one([gwa_row(T0), '', gwa_row(T0 + 300)])
        report, trace, err = self._both(folder, 'blank_line')
        self.assertIn(path + ':3', err)

    def test_empty_file(self):
        self.write('vm/1.csv', gwa_text([gwa_row(T0)]))
        empty = self.write('vm/2.csv', '')
        report, trace, err = self._both(self.path('vm'), 'empty_file')
        self.assertEqual(('1',), trace.resources)
        self.assertIn(empty, err)

    def test_only_empty_files(self):
        self.write('vm/1.csv', '')
        self.assertRaises(exception.TraceError, api.import_trace,
                          self.path('vm'), self.path('o.irra'),
                          fmt='gwa-t-12')

    def test_folder_without_gwa_files(self):
        self.write('other/readme.txt', 'hello\n')
        self.write('other/x.csv', 'a,b\n1,2\n')
        exc = self.assertRaises(exception.TraceError, api.import_trace,
                                self.path('other'), self.path('o.irra'),
                                fmt='gwa-t-12')
        self.assertIn('no GWA-T-12 files', str(exc))
        exc = self.assertRaises(exception.UnknownFormat, api.sniff_format,
                                self.path('other'))
        self.assertIn('gwa-t-12', str(exc))

    def test_truncated_archive(self):
        for i in range(1, 30):
            self.write('vm/%d.csv' % i, gwa_text(
                [gwa_row(T0 + 300 * k, util=k % 7) for k in range(200)]))
        archive = self.tar('vm', 'vm.tar.xz')
        with open(archive, 'rb') as f:
            data = f.read()
        cut = self.path('cut.tar.xz')
        with open(cut, 'wb') as f:
            f.write(data[:len(data) // 2])
        exc = self.assertRaises(exception.TraceError, api.import_trace,
                                cut, self.path('o.irra'), fmt='gwa-t-12')
        self.assertIn('truncated', str(exc))
        self.assertFalse(os.path.exists(self.path('o.irra')))

    def test_missing_path(self):
        self.assertRaises(exception.TraceError, api.import_trace,
                          self.path('nope'), self.path('o.irra'),
                          fmt='gwa-t-12')
