"""JSON schemas of irra-api's requests: query strings and bodies.

Query parameters arrive as strings: their schemas check them with patterns
and enums, and the handlers convert them. Every schema forbids what it does
not name. The OpenAPI document (``irra_openstack/api/openapi.yaml``) is
built from these schemas and the route table by
:mod:`irra_openstack.api.openapi`, and a test keeps the two in step.
"""
