"""Handlers of irra-api: one small function per method and route.

A handler takes the webob request (route arguments in ``req.urlvars``),
checks policy and input, calls the data-access functions of
``irra_openstack.db`` and returns a webob response. Errors are raised as
:class:`irra_openstack.api.errors.APIError` (or irra's data-access errors,
which the router maps to HTTP).
"""
