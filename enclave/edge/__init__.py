"""The edge: the enclave's public HTTPS entrance, outside every container.

It sits in front of the hub's proxy (configurable-http-proxy, on loopback
only) and enforces what the workspace's own lockdown cannot be trusted to
enforce, because the analyst controls their container: routes that hand file
bytes to a browser are refused, large file reads through the contents API are
refused, tokens in URLs are refused, data-bearing traffic is metered, and
every response gets the enclave's security headers and secure cookies.

Modules, one job each: `paths` (canonical form of a request path), `policy`
(is this request refused, and how is it metered), `contents` (the size check
on contents API responses), `headers` (what is added to, or stripped from,
requests and responses), `refusals` (the refusal response and its audit
event), `proxy` (the reverse proxy), `listener` (TLS, and plain HTTP
redirected), `tls` (the certificate), `serve` (running it all).
"""
