"""Makes ``gateway_support`` (test servers and helpers) importable from the gateway's tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
