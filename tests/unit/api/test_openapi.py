"""The OpenAPI document agrees with the route table and the schemas."""

import jsonschema
import yaml

from irra_openstack.api import openapi
from irra_openstack.api import router
from tests import base


class TestOpenAPIDocument(base.TestCase):

    def test_checked_in_document_is_current(self):
        with open(openapi.PATH) as f:
            checked_in = yaml.safe_load(f)
        self.assertEqual(
            openapi.build(), checked_in,
            'irra_openstack/api/openapi.yaml is stale: run "python -m '
            'irra_openstack.api.openapi" and commit the result')

    def test_every_route_is_documented(self):
        routes = {(path, method) for path, methods in router.ROUTES.items()
                  for method in methods}
        self.assertEqual(routes, set(openapi.OPERATIONS))

    def test_every_path_parameter_has_a_schema(self):
        for path in router.ROUTES:
            for name in router._SEGMENT.findall(path):
                self.assertIn(name, openapi.PATH_PARAMETERS, path)

    def test_request_schemas_are_valid_json_schemas(self):
        for (path, method), (_s, query, body, _st) in (
                openapi.OPERATIONS.items()):
            jsonschema.Draft202012Validator.check_schema(query)
            if body is not None:
                jsonschema.Draft202012Validator.check_schema(body)

    def test_document_is_valid_openapi(self):
        from schemathesis import openapi as st_openapi

        schema = st_openapi.from_dict(openapi.build())
        operations = [result.ok() for result in
                      schema.get_all_operations()]
        self.assertEqual(len(openapi.OPERATIONS), len(operations))
