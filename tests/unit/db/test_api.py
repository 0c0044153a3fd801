"""Configuration of the database context, and its errors."""

import socket

import fixtures
import sqlalchemy as sa

from irra_openstack.db import api
from irra_openstack import exception
from tests import base


def _closed_port():
    """A loopback TCP port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class ConfigureTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.addCleanup(api.dispose)
        # No waiting between connection attempts in these tests.
        self.flags(group='database', max_retries=0)

    def test_connection_unset(self):
        exc = self.assertRaises(exception.DBNotConfigured,
                                api.configure, self.conf)
        self.assertIn('[database] connection', str(exc))

    def test_connection_empty(self):
        self.flags(group='database', connection='')
        self.assertRaises(exception.DBNotConfigured, api.configure,
                          self.conf)

    def test_not_a_url(self):
        self.flags(group='database', connection='irra.sqlite')
        exc = self.assertRaises(api.DBInvalidConnection, api.configure,
                                self.conf)
        self.assertIsInstance(exc, exception.IrraError)

    def test_reconfigure_switches_database(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        for name in ('one', 'two'):
            self.flags(group='database',
                       connection='sqlite:///%s/%s.sqlite' % (tmp, name))
            api.configure(self.conf)
            with api.write_session() as session:
                session.execute(sa.text('CREATE TABLE t_%s (x INTEGER)' %
                                        name))
        engine = api.get_engine()
        self.assertEqual(['t_two'], sa.inspect(engine).get_table_names())
        self.assertTrue(str(engine.url).endswith('two.sqlite'))


class ConnectionErrorTest(base.TestCase):
    """A server that cannot be reached: one line, no password."""

    def setUp(self):
        super().setUp()
        self.addCleanup(api.dispose)
        self.flags(group='database', max_retries=0)

    def _assert_fails(self, url, backend, password):
        self.flags(group='database', connection=url)
        api.configure(self.conf)
        exc = self.assertRaises(api.DBConnectionFailed, api.get_engine)
        message = str(exc)
        self.assertIsInstance(exc, exception.IrraError)
        self.assertEqual(1, len(message.splitlines()), message)
        self.assertIn(backend, message)
        self.assertIn('127.0.0.1', message)
        self.assertIn(':***@', message)
        self.assertNotIn(password, message)
        return message

    def test_postgresql_unreachable(self):
        port = _closed_port()
        message = self._assert_fails(
            'postgresql+psycopg2://irra:Secr3t@127.0.0.1:%d/irra' % port,
            'postgresql', 'Secr3t')
        self.assertIn(str(port), message)

    def test_mysql_unreachable(self):
        port = _closed_port()
        self._assert_fails(
            'mysql+pymysql://irra:Secr3t@127.0.0.1:%d/irra' % port,
            'mysql', 'Secr3t')

    def test_password_with_escaped_characters(self):
        # The URL spells it p%40ss%2Fw, the driver is given p@ss/w.
        message = self._assert_fails(
            'mysql+pymysql://irra:p%%40ss%%2Fw@127.0.0.1:%d/irra' %
            _closed_port(), 'mysql', 'p@ss/w')
        self.assertNotIn('p%40ss', message)

    def test_driver_missing(self):
        self.flags(group='database',
                   connection='postgresql+nosuchdriver://u:Secr3t@h/db')
        api.configure(self.conf)
        exc = self.assertRaises(api.DBDriverMissing, api.get_engine)
        self.assertNotIn('Secr3t', str(exc))
        self.assertIn('nosuchdriver', str(exc))


class SafeUrlTest(base.TestCase):

    def test_password_hidden(self):
        self.assertEqual('mysql+pymysql://irra:***@db.example.org/irra',
                         api.safe_url('mysql+pymysql://irra:pw@'
                                      'db.example.org/irra'))

    def test_invalid(self):
        self.assertEqual('<invalid URL>', api.safe_url('irra.sqlite'))
