"""A syrupy extension for CloudFormation templates that ignores asset churn.

Handler code or dependency changes alter asset hashes, S3 keys, asset paths and the logical IDs
of Lambda versions (CDK hashes the code into them). Those are replaced by constants, so a snapshot
diff only ever shows a real infrastructure change.
"""
from __future__ import annotations

import json
import re
from typing import Any

from syrupy.extensions.json import JSONSnapshotExtension

_REPLACEMENTS = (
    (re.compile(r"[0-9a-f]{64}\.zip"), "ASSET_HASH.zip"),
    (re.compile(r"asset\.[0-9a-f]{64}"), "asset.ASSET_HASH"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "ASSET_HASH"),
    (re.compile(r"CurrentVersion[0-9A-F]{8}[0-9a-f]{32}"), "CurrentVersionNORMALISED"),
)


def normalise(template: dict[str, Any]) -> dict[str, Any]:
    """Return ``template`` with asset hashes, keys and paths replaced by constants, and without the
    construct-path metadata (``aws:cdk:path``) that names where each resource was declared."""
    template = json.loads(json.dumps(template))
    for resource in template.get("Resources", {}).values():
        metadata = resource.get("Metadata", {})
        metadata.pop("aws:cdk:path", None)
        if "Metadata" in resource and not metadata:
            del resource["Metadata"]
    text = json.dumps(template, sort_keys=True)
    for pattern, replacement in _REPLACEMENTS:
        text = pattern.sub(replacement, text)
    return json.loads(text)


class NormalizedJSONExtension(JSONSnapshotExtension):
    """JSON snapshots of normalised templates (one ``.json`` file per snapshot)."""

    def serialize(self, data: Any, **kwargs: Any) -> str:
        return super().serialize(normalise(data), **kwargs)
