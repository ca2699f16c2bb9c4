"""The thin HTTP layer: each route calls one `api` function as the caller's role."""
