"""Local development tooling (``make dev``, ``make invoke``). Never bundled into the Lambda asset."""
