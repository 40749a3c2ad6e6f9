"""The airlock names whom each response is counted against with the headers the edge reads."""

from egress_review.web import recipient
from enclave.egress import channels


def test_the_header_names_are_the_edges():
    assert recipient.RECIPIENT_HEADER == channels.RECIPIENT_HEADER
    assert recipient.PROJECT_HEADER == channels.PROJECT_HEADER
    assert recipient.RELEASED_HEADER == channels.RELEASED_HEADER


def test_headers_for_a_person_with_and_without_a_project():
    assert recipient.recipient_headers("rita", "alpha") == {"X-Enclave-Recipient": "rita", "X-Enclave-Project": "alpha"}
    assert recipient.recipient_headers("rita", None) == {"X-Enclave-Recipient": "rita"}
    assert recipient.recipient_headers(None, "alpha") == {}
