"""Headers at the edge: the client cannot say who it is, cookies become Secure, security headers everywhere."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from enclave.edge.headers import (
    SECURITY_HEADERS,
    downstream_response_headers,
    named_recipient,
    secure_cookie,
    serialised_head,
    upstream_request_headers,
)


def test_client_supplied_forwarding_headers_are_replaced_by_the_edges_own():
    incoming = CIMultiDictProxy(
        CIMultiDict(
            {
                "Host": "enclave.example:8000",
                "X-Forwarded-For": "10.9.9.9",
                "X-Forwarded-Proto": "http",
                "X-Real-IP": "10.9.9.9",
                "Forwarded": "for=10.9.9.9",
                "Connection": "keep-alive, X-Secret",
                "X-Secret": "hop",
                "Cookie": "a=b",
                "Authorization": "token t",
            }
        )
    )
    out = upstream_request_headers(incoming, "192.0.2.7", "enclave.example:8000", 8000)
    assert out["X-Forwarded-For"] == "192.0.2.7" and out["X-Forwarded-Proto"] == "https"
    assert out["X-Forwarded-Host"] == "enclave.example:8000" and out["X-Forwarded-Port"] == "8000"
    assert "X-Real-IP" not in out and "Forwarded" not in out and "Connection" not in out
    assert "X-Secret" not in out  # named by Connection: hop-by-hop
    assert out["Host"] == "enclave.example:8000" and out["Cookie"] == "a=b" and out["Authorization"] == "token t"


@pytest.mark.parametrize(
    "cookie,expected",
    [
        ("a=b; Path=/; HttpOnly", "a=b; Path=/; HttpOnly; Secure"),
        ("a=b; Secure; HttpOnly; SameSite=Lax", "a=b; Secure; HttpOnly; SameSite=Lax"),
        ("a=b;secure", "a=b;secure"),
        ("secure=1; Path=/", "secure=1; Path=/; Secure"),  # a cookie named 'secure' is not the attribute
    ],
)
def test_every_cookie_becomes_secure_and_keeps_its_other_attributes(cookie, expected):
    assert secure_cookie(cookie) == expected


def test_response_headers_lose_hop_by_hop_and_get_ours_in_place_of_the_servers():
    upstream = CIMultiDictProxy(
        CIMultiDict(
            [
                ("Content-Type", "text/html"),
                ("Transfer-Encoding", "chunked"),
                ("Set-Cookie", "a=1; HttpOnly"),
                ("Set-Cookie", "b=2; Secure"),
                ("Content-Security-Policy", "default-src *"),
            ]
        )
    )
    out = downstream_response_headers(upstream)
    assert "Transfer-Encoding" not in out
    assert out.getall("Set-Cookie") == ["a=1; HttpOnly; Secure", "b=2; Secure"]
    for name, value in SECURITY_HEADERS.items():
        assert out.getall(name) == [value]
    csp = out["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data: blob:",
        "frame-ancestors 'self'",
        "form-action 'self'",
        "base-uri 'self'",
    ):
        assert directive in csp


def test_enclave_headers_never_pass_in_either_direction():
    sent = CIMultiDictProxy(
        CIMultiDict(
            {
                "X-Enclave-Recipient": "bob",
                "x-enclave-project": "beta",
                "X-Enclave-Edge": "refused",
                "X-Enclave-Anything": "1",
                "X-Other": "kept",
            }
        )
    )
    assert list(upstream_request_headers(sent, "192.0.2.7", "h", 1)) == [
        "X-Other",
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "X-Forwarded-Host",
        "X-Forwarded-Port",
    ]
    out = downstream_response_headers(sent)
    assert not [h for h in out if h.lower().startswith("x-enclave-")] and out["X-Other"] == "kept"


@pytest.mark.parametrize(
    "headers,named",
    [
        ({"X-Enclave-Recipient": "rita", "X-Enclave-Project": "alpha"}, ("rita", "alpha")),
        ({"x-enclave-recipient": "rita"}, ("rita", None)),
        ({}, (None, None)),
        ({"X-Enclave-Recipient": ""}, (None, None)),
        ([("X-Enclave-Recipient", "rita"), ("X-Enclave-Recipient", "rex")], (None, None)),  # two names: nobody
        ([("X-Enclave-Recipient", "rita"), ("X-Enclave-Recipient", "rita")], ("rita", None)),
    ],
)
def test_the_recipient_a_trusted_service_names(headers, named):
    assert named_recipient(CIMultiDictProxy(CIMultiDict(headers))) == named


def test_a_serialised_head_is_the_status_line_and_every_header_as_on_the_wire():
    head = serialised_head(200, "OK", CIMultiDict([("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X", "é")]))
    assert head == "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nX: é\r\n\r\n".encode()
