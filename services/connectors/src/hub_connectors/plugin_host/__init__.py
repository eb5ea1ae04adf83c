"""The plugin host: the process a custom connector's code runs in (``worker``), the Landlock
policy it runs under (``sandbox``) and the messages it exchanges with the service (``protocol``).

Imported by a fresh interpreter per worker, so it imports only the SDK and the standard library
(spawn cost: see ``docs/adr/0011-plugin-isolation.md``).
"""
