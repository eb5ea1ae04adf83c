"""SQL only: apps, flows and token metadata in the ``oauth`` schema."""
