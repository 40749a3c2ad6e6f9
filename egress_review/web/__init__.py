"""The airlock's web face: server-rendered pages and a JSON API, both over the services."""
