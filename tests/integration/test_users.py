"""UserService: registration (terms must be accepted), identity per (issuer, subject), profile
re-sync from the token, admin-only listing."""

from __future__ import annotations

import asyncio

import pytest

from drift_monitoring.v1 import user_pb2
from tests.integration.helpers import ADMIN, Api, Code, Persona, direct_api, expect_error, gateway_metadata, unique

pytestmark = pytest.mark.asyncio(loop_scope="session")

REGISTER = user_pb2.RegisterUserRequest(accept_terms=True)
ME = user_pb2.GetCurrentUserRequest()


async def test_register_requires_accepting_terms(gateway, db):
    api = gateway.api(Persona("someone", unique("it-u")))
    await expect_error(Code.INVALID_ARGUMENT, api.users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=False)), mentions="accept_terms")
    await expect_error(Code.NOT_FOUND, api.users.GetCurrentUser(ME))
    assert db.users.count_documents({"subject": api.persona.sub}) == 0


async def test_get_current_user_before_registering_is_not_found(people):
    await expect_error(Code.NOT_FOUND, people["newbie"].users.GetCurrentUser(ME))


async def test_register_returns_the_profile_from_the_token(gateway):
    persona = Persona("profiled", unique("it-u"), ("urn:x", "urn:y"))
    api = gateway.api(persona)
    user = await api.users.RegisterUser(REGISTER)
    assert (user.issuer, user.subject, user.name, user.email) == (gateway.issuer, persona.sub, persona.display_name, persona.email)
    assert set(user.entitlements) == {"urn:x", "urn:y"} and not user.admin
    assert user.id and user.HasField("create_time") and user.HasField("terms_accept_time")
    assert await api.users.GetCurrentUser(ME) == user


async def test_registering_again_is_the_same_user(gateway):
    persona = Persona("twice", unique("it-u"))
    first = await gateway.api(persona).users.RegisterUser(REGISTER)
    again = await gateway.api(persona).users.RegisterUser(REGISTER)
    assert (again.id, again.create_time) == (first.id, first.create_time)


async def test_registering_again_refreshes_the_profile(gateway):
    sub = unique("it-u")
    first = await gateway.api(Persona("old name", sub)).users.RegisterUser(REGISTER)
    renamed = await gateway.api(Persona("new name", sub, ("urn:new",))).users.RegisterUser(REGISTER)
    assert renamed.id == first.id and renamed.name == "IT New Name" and list(renamed.entitlements) == ["urn:new"]


async def test_user_id_is_stable_per_issuer_and_subject(server, issuer, direct_to):
    """Straight to the server, as Envoy forwards tokens of two trusted issuers."""
    channel = direct_to(server)
    persona = Persona("same", unique("it-u"))
    here = await direct_api(channel, persona, issuer.url).register()
    again = await direct_api(channel, persona, issuer.url).register()
    elsewhere = await direct_api(channel, persona, "https://other-issuer.example.org").register()
    other_subject = await direct_api(channel, Persona("same", persona.sub + "-2"), issuer.url).register()
    assert here.id == again.id
    assert len({here.id, elsewhere.id, other_subject.id}) == 3


async def test_update_current_user_resyncs_claims(gateway):
    sub = unique("it-u")
    await gateway.api(Persona("old", sub)).register()
    user = await gateway.api(Persona("new", sub, ("urn:new",))).users.UpdateCurrentUser(user_pb2.UpdateCurrentUserRequest())
    assert (user.name, list(user.entitlements)) == ("IT New", ["urn:new"])


async def test_admin_flag_comes_from_the_admin_entitlement(people):
    assert (await people["admin"].users.GetCurrentUser(ME)).admin
    assert not (await people["manager"].users.GetCurrentUser(ME)).admin


async def test_list_users_for_admins(people):
    admin = people["admin"]
    listed = await admin.users.ListUsers(user_pb2.ListUsersRequest(filter=f'subject = "{people["reader"].persona.sub}"'))
    assert [u.id for u in listed.users] == [people["reader"].id]
    admins = await admin.users.ListUsers(user_pb2.ListUsersRequest(filter=f'entitlements:"{ADMIN.entitlements[0]}"', page_size=1000))
    assert people["admin"].id in {u.id for u in admins.users} and all(u.admin for u in admins.users)


async def test_list_users_pages_through_everyone(people):
    admin = people["admin"]
    seen, token = [], ""
    while True:
        page = await admin.users.ListUsers(user_pb2.ListUsersRequest(page_size=2, page_token=token))
        assert len(page.users) <= 2
        seen += [u.id for u in page.users]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen))
    assert {people[name].id for name in ("admin", "manager", "editor", "reader", "outsider", "group_member")} <= set(seen)
    never_registered = await admin.users.ListUsers(user_pb2.ListUsersRequest(filter=f'subject = "{people["newbie"].persona.sub}"'))
    assert list(never_registered.users) == []


@pytest.mark.parametrize("persona", ["manager", "reader", "newbie"])
async def test_list_users_is_admin_only(people, persona):
    await expect_error(Code.PERMISSION_DENIED, people[persona].users.ListUsers(user_pb2.ListUsersRequest()))


@pytest.mark.parametrize("rpc", ["RegisterUser", "GetCurrentUser", "UpdateCurrentUser", "ListUsers"])
async def test_anonymous_callers_are_unauthenticated(people, rpc):
    request = {
        "RegisterUser": REGISTER,
        "GetCurrentUser": ME,
        "UpdateCurrentUser": user_pb2.UpdateCurrentUserRequest(),
        "ListUsers": user_pb2.ListUsersRequest(),
    }[rpc]
    await expect_error(Code.UNAUTHENTICATED, getattr(people["anonymous"].users, rpc)(request))


async def test_unregistered_callers_cannot_write(people, scenario, db):
    newbie = people["newbie"]
    before = (db.experiments.count_documents({}), db.drifts.count_documents({}))
    await expect_error(Code.FAILED_PRECONDITION, newbie.create_experiment())
    await expect_error(Code.FAILED_PRECONDITION, newbie.create_drift(scenario.public.id))
    assert (db.experiments.count_documents({}), db.drifts.count_documents({})) == before


async def test_entitlements_claim_path_and_admin_list_are_configurable(start_server, direct_to, issuer):
    """DRIFT_MONITOR_ENTITLEMENTS_CLAIM is a dotted path; DRIFT_MONITOR_ADMIN_ENTITLEMENTS a comma list."""
    process = await asyncio.to_thread(
        start_server, DRIFT_MONITOR_ENTITLEMENTS_CLAIM="realm_access.groups", DRIFT_MONITOR_ADMIN_ENTITLEMENTS="urn:ops, urn:root"
    )
    channel = direct_to(process)

    def caller(groups: list[str]):
        claims = Persona("keycloak user", unique("it-kc")).claims(issuer.url)
        claims["eduperson_entitlement"] = ["urn:root"]  # not the configured claim: ignored
        claims["realm_access"] = {"groups": groups}
        return Api(channel, gateway_metadata(claims))

    admin = await caller(["urn:team", "urn:root"]).users.RegisterUser(REGISTER)
    plain = await caller(["urn:team"]).users.RegisterUser(REGISTER)
    assert (set(admin.entitlements), admin.admin) == ({"urn:team", "urn:root"}, True)  # order is not part of the contract
    assert (set(plain.entitlements), plain.admin) == ({"urn:team"}, False)
