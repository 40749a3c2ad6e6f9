"""The edge: the enclave's public HTTPS entrance, outside every container.

It sits in front of the hub's proxy (configurable-http-proxy, on loopback
only) and enforces what the workspace's own lockdown cannot be trusted to
enforce, because the analyst controls their container: under a workspace only
the routes JupyterLab needs pass (those that hand file bytes to a browser are
refused), large file reads through the contents API are refused, tokens in
URLs are refused, the workspace image's static files are served from the
edge's own copy, every other answer that can carry an analyst's bytes is
metered against the person receiving it, what browsers send in (uploads,
request bodies, websocket messages) is capped and audited, and every response
gets the enclave's security headers and secure cookies.

Modules, one job each: `paths` (canonical form of a request path), `policy`
(is this request refused, and how is it metered), `contents` (the size check
on contents API responses), `uploads` (the caps on what comes in, and the
upload audit), `headers` (what is added to, or stripped from,
requests and responses), `refusals` (the refusal response and its audit
event), `static` (the image's static files), `proxy` (the reverse proxy), `listener`
(TLS, and plain HTTP redirected), `tls` (the certificate), `serve` (running it
all).
"""
