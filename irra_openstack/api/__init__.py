"""irra-api: the REST API of irra.

:mod:`irra_openstack.api.deploy` builds the WSGI application (middleware,
route table, handlers); :mod:`irra_openstack.api.wsgi` is the entry point
that WSGI servers load.
"""
