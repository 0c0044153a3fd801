"""Tests of the Azure, PlanetLab and Alibaba importers."""

import calendar

import numpy as np

from irra_openstack import exception
from irra_openstack.traces import api
from irra_openstack.traces.formats import alibaba
from irra_openstack.traces.formats import azure
from irra_openstack.traces.formats import planetlab
from tests.unit.traces import base as tbase


def wide(vms, rows, first='step_5min', sep=','):
    lines = [sep.join([first] + vms)]
    lines += [sep.join([str(i)] + ['%g' % v for v in row])
              for i, row in rows]
    return '\n'.join(lines) + '\n'


class TestAzureWide(tbase.TraceTestCase):

    def _write(self):
        self.write('az/microsoft_avg_3.csv', wide(
            ['a', 'b'], [(0, (1, 2)), (1, (3, 4)), (2, (5, 6))]))
        self.write('az/microsoft_max_3.csv', wide(
            ['a', 'b'], [(0, (10, 20)), (1, (30, 40)), (2, (50, 60))]))

    def test_file_with_max_beside_it(self):
        self._write()
        path = self.path('az', 'microsoft_avg_3.csv')
        self.assertEqual(1.0, azure.AzureWideFormat.sniff(path))
        self.assertEqual('azure-wide', api.sniff_format(path))
        report, trace = self.do_import(path)
        self.assertEqual(('a', 'b'), trace.resources)
        self.assertEqual(('cpu_util', 'cpu_util_max'), trace.metrics)
        self.assertFalse(trace.epoch_known)
        self.assertEqual(0, trace.start)
        self.assertEqual(3, trace.n_steps)
        f = trace.read()
        np.testing.assert_allclose([2, 4, 6], f.series('b', 'cpu_util'))
        np.testing.assert_allclose([10, 30, 50],
                                   f.series('a', 'cpu_util_max'))
        self.assertEqual(2, report.files)

    def test_folder_and_archive(self):
        self._write()
        _, trace = self.do_import(self.path('az'))
        self.assertEqual(('cpu_util', 'cpu_util_max'), trace.metrics)
        _, trace2 = self.do_import(self.tar('az', 'az.tar.xz'))
        np.testing.assert_array_equal(trace.read().values,
                                      trace2.read().values)

    def test_unsorted_duplicate_missing_step(self):
        path = self.write('az/microsoft_avg_3.csv', wide(
            ['a'], [(0, (1,)), (3, (4,)), (1, (2,)), (1, (4,))]))
        report, trace = self.do_import(path, block_size=1)
        np.testing.assert_allclose(
            [1, 3, np.nan, 4], trace.read().series('a', 'cpu_util'))
        self.assertIn('unsorted', report.repairs)
        self.assertIn('duplicate', report.repairs)
        self.assertEqual(1, report.notes['gap']['count'])
        exc = self.assertRaises(exception.BadDataError, api.import_trace,
                                path, self.path('o.irra'),
                                on_bad_data='fail')
        self.assertIn(path + ':4', str(exc))

    def test_wrong_separator(self):
        path = self.write('az/microsoft_avg_3.csv', wide(
            ['a', 'b'], [(0, (1, 2))], sep=';'))
        exc = self.assertRaises(exception.TraceFormatError, api.import_trace,
                                path, self.path('o.irra'), fmt='azure-wide')
        self.assertEqual(1, exc.line)
        self.assertIn("found ';'", str(exc))


V1_ROWS = [(0, 'vmA', 1, 9, 5), (0, 'vmB', 2, 8, 4),
           (300, 'vmA', 2, 10, 6), (300, 'vmB', 3, 9, 5)]


def v1(rows):
    return ''.join('%d,%s,%g,%g,%g\n' % r for r in rows)


class TestAzureV1(tbase.TraceTestCase):

    def test_folder_of_files_gz(self):
        self.write('v1/vm_cpu_readings-file-1-of-2.csv', v1(V1_ROWS))
        self.write('v1/vm_cpu_readings-file-2-of-2.csv.gz', v1(
            [(600, 'vmA', 3, 11, 7), (600, 'vmC', 1, 1, 1)]))
        path = self.path('v1')
        self.assertEqual(1.0, azure.AzureV1Format.sniff(path))
        self.assertEqual('azure-v1', api.sniff_format(path))
        report, trace = self.do_import(path)
        self.assertEqual(('vmA', 'vmB', 'vmC'), trace.resources)
        self.assertEqual(('cpu_util', 'cpu_util_max', 'cpu_util_min'),
                         trace.metrics)
        self.assertFalse(trace.epoch_known)
        f = trace.read()
        np.testing.assert_allclose([5, 6, 7], f.series('vmA', 'cpu_util'))
        np.testing.assert_allclose([9, 10, 11],
                                   f.series('vmA', 'cpu_util_max'))
        np.testing.assert_allclose([1, 2, 3],
                                   f.series('vmA', 'cpu_util_min'))
        np.testing.assert_allclose([np.nan, np.nan, 1],
                                   f.series('vmC', 'cpu_util'))
        self.assertEqual(2, report.files)

    def test_archive_and_single_file(self):
        self.write('v1/vm_cpu_readings-file-1-of-1.csv', v1(V1_ROWS))
        _, t1 = self.do_import(self.path(
            'v1', 'vm_cpu_readings-file-1-of-1.csv'))
        _, t2 = self.do_import(self.tar('v1', 'v1.tar.gz', 'w:gz'))
        np.testing.assert_array_equal(t1.read().values, t2.read().values)

    def test_bad_input(self):
        rows = list(V1_ROWS)
        path = self.write('v1/vm_cpu_readings-file-1-of-1.csv',
                          v1(rows[:2]) + '300,vmA,2\n' + v1(rows[3:]))
        exc = self.assertRaises(exception.TraceFormatError, api.import_trace,
                                path, self.path('o.irra'), fmt='azure-v1')
        self.assertEqual(3, exc.line)
        path = self.write('v1/vm_cpu_readings-file-1-of-1.csv',
                          v1(rows[2:] + rows[:2]) + '600,vmA,-1,2,1\n')
        report, trace = self.do_import(path)
        self.assertIn('negative', report.repairs)
        self.assertIn('unsorted', report.repairs)
        self.assertRaises(exception.BadDataError, api.import_trace, path,
                          self.path('o.irra'), on_bad_data='fail')
        path = self.write('v1/vm_cpu_readings-file-1-of-1.csv',
                          v1(rows).replace(',', ';'))
        exc = self.assertRaises(exception.TraceFormatError, api.import_trace,
                                path, self.path('o.irra'), fmt='azure-v1')
        self.assertIn('wrong separator', str(exc))


class TestPlanetLab(tbase.TraceTestCase):

    def _day(self, day, vm, values):
        return self.write('pl/%s/%s' % (day, vm),
                          ''.join('%d\n' % v for v in values))

    def test_days_and_same_vm_across_days(self):
        self._day('20110303', 'node1_slice', range(288))
        self._day('20110303', 'node2_slice', [7] * 288)
        self._day('20110304', 'node1_slice', [1] * 288)
        path = self.path('pl')
        self.assertEqual(0.95, planetlab.PlanetLabFormat.sniff(path))
        self.assertEqual('planetlab', api.sniff_format(path))
        report, trace = self.do_import(path)
        self.assertEqual(('node1_slice', 'node2_slice'), trace.resources)
        self.assertEqual(calendar.timegm((2011, 3, 3, 0, 0, 0)),
                         trace.start)
        self.assertTrue(trace.epoch_known)
        self.assertEqual(576, trace.n_steps)
        f = trace.read()
        cpu = f.series('node1_slice', 'cpu_util')
        np.testing.assert_allclose(np.arange(288), cpu[:288])
        np.testing.assert_allclose(1, cpu[288:])
        self.assertTrue(np.isnan(f.series('node2_slice', 'cpu_util')[
            288:]).all())
        self.assertEqual(3, report.files)
        # one day folder itself, and an archive
        _, day = self.do_import(self.path('pl', '20110303'))
        self.assertEqual(288, day.n_steps)
        _, arc = self.do_import(self.tar('pl', 'pl.tar.xz'))
        np.testing.assert_array_equal(f.values, arc.read().values)

    def test_bad_input(self):
        p = self._day('20110303', 'vm', list(range(289)))
        exc = self.assertRaises(exception.TraceFormatError, api.import_trace,
                                self.path('pl'), self.path('o.irra'),
                                fmt='planetlab')
        self.assertEqual(289, exc.line)
        p = self.write('pl/20110303/vm', '1\n2\nxx\n4\n')
        exc = self.assertRaises(exception.TraceFormatError, api.import_trace,
                                self.path('pl'), self.path('o.irra'),
                                fmt='planetlab')
        self.assertIn(p + ':3', str(exc))
        p = self.write('pl/20110303/vm', '1\n2,3\n4\n')
        exc = self.assertRaises(exception.TraceFormatError, api.import_trace,
                                self.path('pl'), self.path('o.irra'),
                                fmt='planetlab')
        self.assertIn('wrong separator', str(exc))
        self.assertEqual(2, exc.line)
        p = self.write('pl/20110303/vm', '1\n-2\n\n4\n')
        report, trace = self.do_import(self.path('pl'), fmt='planetlab')
        np.testing.assert_allclose(
            [1, np.nan, np.nan, 4], trace.read().series('vm', 'cpu_util'))
        self.assertIn('negative', report.repairs)
        self.assertIn('blank_line', report.repairs)
        exc = self.assertRaises(exception.BadDataError, api.import_trace,
                                self.path('pl'), self.path('o.irra'),
                                fmt='planetlab', on_bad_data='fail')
        self.assertIn(p + ':', str(exc))

    def test_no_day_folders(self):
        self.write('pl/x/vm', '1\n2\n')
        exc = self.assertRaises(exception.TraceError, api.import_trace,
                                self.path('pl'), self.path('o.irra'),
                                fmt='planetlab')
        self.assertIn('YYYYMMDD', str(exc))


USAGE = [('m_2', 0, 10, 50, '', '', 1, 2, 3),
         ('m_2', 100, 20, 50, '', '', 1, 2, 3),
         ('m_2', 310, 30, 60, 1, 2, 1, 2, 3),
         ('m_10', 20, 5, 5, '', '', 0, 0, 0)]
META = [('m_2', 0, 1, 2, 96, 100, 'USING'),
        ('m_2', 50, 1, 2, 64, 100, 'USING'),
        ('m_10', 0, 3, 4, '', '', 'USING'),
        ('m_99', 0, 3, 4, 8, 8, 'USING')]


def csv(rows):
    return ''.join(','.join(str(v) for v in r) + '\n' for r in rows)


class TestAlibaba(tbase.TraceTestCase):

    def test_usage_and_meta(self):
        self.write('ali/machine_usage.csv', csv(USAGE))
        self.write('ali/machine_meta.csv', csv(META))
        path = self.path('ali', 'machine_usage.csv')
        self.assertEqual(1.0, alibaba.AlibabaMachineFormat.sniff(path))
        self.assertEqual('alibaba-machine', api.sniff_format(path))
        report, trace = self.do_import(path)
        self.assertEqual(('m_2', 'm_10'), trace.resources)
        self.assertEqual('host', trace.kind)
        self.assertFalse(trace.epoch_known)
        self.assertEqual(('cpu_util', 'mem_util', 'net_in', 'net_out',
                          'disk_io_util'), trace.metrics)
        f = trace.read()
        # 0 and 100 s average into the first 5 minutes
        np.testing.assert_allclose([15, 30], f.series('m_2', 'cpu_util'))
        np.testing.assert_allclose([50, 60], f.series('m_2', 'mem_util'))
        self.assertEqual({'cpu_num': 64, 'mem_size': 100,
                          'failure_domain_1': '1', 'failure_domain_2': '2',
                          'status': 'USING'}, dict(f.attributes['m_2']))
        self.assertNotIn('cpu_num', f.attributes['m_10'])
        self.assertEqual({}, report.repairs)
        self.assertEqual(2, report.files)
        _, arc = self.do_import(self.tar('ali', 'ali.tar.xz'))
        np.testing.assert_array_equal(f.values, arc.read().values)
        self.assertEqual(dict(f.attributes['m_2']),
                         dict(arc.read().attributes['m_2']))

    def test_bad_input(self):
        rows = USAGE[:2] + [('m_2', 50, -1, 50, '', '', 1, 2, 3)]
        path = self.write('ali/machine_usage.csv', csv(rows))
        report, trace = self.do_import(path)
        self.assertEqual(1, report.repairs['negative']['count'])
        self.assertEqual(1, report.repairs['unsorted']['count'])
        exc = self.assertRaises(exception.BadDataError, api.import_trace,
                                path, self.path('o.irra'),
                                on_bad_data='fail')
        self.assertIn(path + ':3', str(exc))
        path = self.write('ali/machine_usage.csv',
                          csv(USAGE[:1]) + 'm_2,100,1\n' + csv(USAGE[1:]))
        exc = self.assertRaises(exception.TraceFormatError, api.import_trace,
                                path, self.path('o.irra'),
                                fmt='alibaba-machine')
        self.assertEqual(2, exc.line)
        path = self.write('ali/machine_usage.csv',
                          csv(USAGE).replace(',', ';'))
        exc = self.assertRaises(exception.TraceFormatError, api.import_trace,
                                path, self.path('o.irra'),
                                fmt='alibaba-machine')
        self.assertIn('wrong separator', str(exc))
