"""The gateway's quota buckets in Redis: the shared GCRA script (``hub_common.redis_limits``)
under the gateway's key names. Keys share a hash tag per tenant (``{tenant}``), so a
connection's and its tenant's bucket live on one Redis Cluster slot and one script touches both.
"""

from __future__ import annotations

from hub_common.redis_limits import BucketState, Lease, RedisBuckets

__all__ = ["BucketState", "Lease", "RedisBuckets", "bucket_keys"]


def bucket_keys(tenant_id: str, connection_id: str) -> tuple[str, str]:
    tag = "{" + tenant_id.replace("}", "_") + "}"
    return f"gw:rl:{tag}:c:{connection_id}", f"gw:rl:{tag}:t"
