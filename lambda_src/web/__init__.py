"""HTTP: event adapters, the request/response model, the router and validation."""
