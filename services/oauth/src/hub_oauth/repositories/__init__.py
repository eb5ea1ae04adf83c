"""SQL only: apps, flows and token metadata in the ``oauth`` schema.

Every function takes a connection (never the pool) and never commits: the service that calls it
opens the unit of work (``hub_common.db.Database``, docs/adr/0027)."""
