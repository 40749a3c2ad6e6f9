"""The enclave's project directory answers the airlock's "which projects can this person request for"."""

from enclave.airlock.directory import EnclaveProjectDirectory
from enclave.operations import people, projects


def test_projects_of_lists_the_active_projects_a_person_is_an_active_member_of(ctx):
    for name in ("alpha", "beta", "gamma"):
        projects.create_project(ctx, name)
    people.add_user(ctx, "ana", ["analyst"])
    for name in ("alpha", "beta", "gamma"):
        people.add_member(ctx, name, "ana")
    projects.suspend_project(ctx, "gamma")
    directory = EnclaveProjectDirectory()
    directory._settings = ctx.settings
    assert directory.projects_of("ana") == ["alpha", "beta"]
    assert directory.projects_of("nobody") == []
    people.remove_member(ctx, "beta", "ana")
    assert directory.projects_of("ana") == ["alpha"]
    people.suspend_user(ctx, "ana", "left the study")
    assert directory.projects_of("ana") == []
