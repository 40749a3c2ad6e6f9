"""Fuzz the JSON API from its own OpenAPI description (schemathesis): whatever
is sent, by whichever kind of user, the service never answers with a 5xx and
every error is the documented JSON shape."""

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from egress_review.domain.permissions import Scope
from egress_review.domain.states import RequestState
from tests.support.airlock_states import create_request_at_status

EXAMPLES_PER_OPERATION = 30


def test_no_server_errors_for_any_generated_input(env, served, hub):
    known = [
        create_request_at_status(env, s) for s in (RequestState.DRAFT, RequestState.SUBMITTED, RequestState.RELEASED)
    ]
    env.write_outbox("fuzz/input.csv", "a,b\n1,2\n")
    tokens = [
        hub.add_user("alice", Scope.REQUEST),
        hub.add_user("rita", Scope.REVIEW),
        hub.add_user("olive", Scope.OPERATE),
        hub.add_user("nobody"),
    ]
    spec = requests.get(served.url + "api/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(spec)
    base_url = served.origin + spec["servers"][0]["url"]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18
    failures = []
    statuses: list[int] = []

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(), data=st.data())
        def run(case, data):
            if case.path_parameters and "request_id" in case.path_parameters:
                case.path_parameters["request_id"] = data.draw(
                    st.sampled_from(known + [case.path_parameters["request_id"]])
                )
            token = data.draw(st.sampled_from(tokens))
            response = case.call(base_url=base_url, headers={"Authorization": f"token {token}"}, timeout=30)
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}")
            elif response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error", "message"} and body["message"], body

        run()

    assert failures == []
    assert len(statuses) >= 5 * len(operations)
    assert {200, 201} & set(statuses) and {400, 403, 404} <= set(statuses)  # it reached past validation
