"""Use cases of the gateway: resolve, limit, proxy, record."""
