"""Writes the JSON schemas of the operator resources the kustomize component uses, from the
operators' own CustomResourceDefinitions, into ``tests/deploy/schemas/crds/``.

    uv run python tests/deploy/vendor_crd_schemas.py CRD.yaml [CRD.yaml ...]

Each served version's ``openAPIV3Schema`` becomes ``<group>_<version>_<Kind>.json`` with the
``description`` texts dropped (they are most of the size and no part of validation). Sources
and commits: ``tests/deploy/schemas/README.md``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

OUT = Path(__file__).parent / "schemas" / "crds"


def without_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: without_descriptions(v)
            for k, v in node.items()
            # a property literally named "description" stays; only the annotations go
            if not (k == "description" and isinstance(v, str))
        }
    if isinstance(node, list):
        return [without_descriptions(v) for v in node]
    return node


def vendor(crd_path: Path) -> list[Path]:
    written = []
    for crd in yaml.safe_load_all(crd_path.read_text()):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if not version.get("served"):
                continue
            schema = without_descriptions(version["schema"]["openAPIV3Schema"])
            target = OUT / f"{group}_{version['name']}_{kind}.json"
            target.write_text(json.dumps(schema, sort_keys=True, separators=(",", ":")) + "\n")
            written.append(target)
    return written


def main(paths: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for path in paths:
        for target in vendor(Path(path)):
            print(f"{path} -> {target} ({target.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
