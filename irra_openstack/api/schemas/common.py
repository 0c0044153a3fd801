"""Pieces shared by the schemas."""

UUID_PATTERN = ('^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?'
                '[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$')

uuid = {'type': 'string', 'pattern': UUID_PATTERN}

#: A page size: 1 or more (at most [api] max_limit is returned).
limit = {'type': 'string', 'pattern': '^[1-9][0-9]{0,8}$',
         'description': 'Page size, 1 or more; at most [api] max_limit '
                        'items are returned.'}

#: The external id of the last item of the previous page.
marker = dict(uuid, description='The id of the last item of the previous '
                                'page.')

#: A name: printable text, 1 to 255 characters.
name = {'type': 'string', 'minLength': 1, 'maxLength': 255,
        'pattern': r'^[^\x00-\x1f\x7f]+$'}

resource_kind = {'type': 'string', 'enum': ['vm', 'host', 'app', 'region']}

number = {'type': 'string',
          'pattern': r'^[0-9]{1,12}(\.[0-9]{1,12})?$'}


def list_query(marker_schema=None, **filters):
    """The query schema of a list: marker, limit and ``filters``."""
    properties = {'limit': limit,
                  'marker': marker_schema if marker_schema else marker}
    properties.update(filters)
    return {'type': 'object', 'properties': properties,
            'additionalProperties': False}


#: The query of an endpoint that takes no parameter.
NO_QUERY = {'type': 'object', 'properties': {}, 'additionalProperties': False}
