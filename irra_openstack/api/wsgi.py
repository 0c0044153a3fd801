"""The WSGI entry point of irra-api: ``irra_openstack.api.wsgi:application``.

A WSGI server (uWSGI, mod_wsgi, gunicorn) loads ``application``. The
configuration is read from the default places (``/etc/irra/irra.conf`` and
``/etc/irra/irra.conf.d``), or from the files that the environment variable
``IRRA_CONFIG_FILES`` lists (separated by commas). The application is built
on the first request, so that importing this module has no side effects.
"""

import os
import threading

from oslo_config import cfg
from oslo_log import log as logging

from irra_openstack import conf as irra_conf
from irra_openstack import version

CONFIG_FILES_ENV = 'IRRA_CONFIG_FILES'

_lock = threading.Lock()
_app = None


def init_application(conf=None, argv=None):
    """Parse the configuration, set up logging, and build the app."""
    from irra_openstack.api import deploy

    conf = conf if conf is not None else irra_conf.CONF
    irra_conf.register_opts(conf)
    irra_conf.register_opts(conf)
    files = os.environ.get(CONFIG_FILES_ENV)
    default_files = ([f for f in files.split(',') if f] if files else
                     [f for f in cfg.find_config_files(project='irra')
                      if os.path.exists(f)])
    try:
        logging.register_options(conf)
    except cfg.ArgsAlreadyParsedError:
        pass
    conf(argv if argv is not None else [], project='irra',
         prog='irra-api', version=version.version_string(),
         default_config_files=default_files)
    logging.setup(conf, 'irra')
    return deploy.loadapp(conf)


def application(environ, start_response):
    """The WSGI application, built on its first call."""
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                _app = init_application()
    return _app(environ, start_response)
