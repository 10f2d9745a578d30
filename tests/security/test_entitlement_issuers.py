"""Entitlements are bound to the issuers allowed to assert them (DRIFT_MONITOR_ENTITLEMENT_ISSUERS).

Two real sandbox issuers behind one Envoy, both trusted for sign-in. The home issuer may assert any
entitlement; the partner may assert only `urn:partner:*`. A partner token claiming the admin entitlement
or the home team's group gets neither; the same claims from the home issuer get both; the partner's own
groups work. Without the setting (the session server, one issuer), entitlements count as before.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
import pytest_asyncio

from drift_monitoring.v1 import experiment_pb2, user_pb2
from stack import ADMIN_ENTITLEMENT, AUDIENCE, Envoy, Issuer, Server
from tests.integration.helpers import GROUP, READ, Api, Code, RpcError, unique

pytestmark = pytest.mark.asyncio(loop_scope="session")

PARTNER_GROUP = "urn:partner:group:auditors"


@dataclass
class TwoIssuers:
    home: Issuer
    partner: Issuer
    channel: grpc.aio.Channel

    def api(self, issuer: Issuer, subject: str, *entitlements: str) -> Api:
        now = int(time.time())
        claims = {"iss": issuer.url, "sub": subject, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 600,
                  "name": subject, "email": f"{subject}@example.org", "eduperson_entitlement": list(entitlements)}
        return Api(self.channel, (("authorization", f"Bearer {issuer.keys.sign(claims)}"),))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def two_issuers(issuer, run_dir, ca_pem, database_uri) -> AsyncIterator[TwoIssuers]:
    partner = await asyncio.to_thread(Issuer, run_dir)
    binding = {issuer.url: ["*"], partner.url: ["urn:partner:*"]}
    server = await asyncio.to_thread(Server, database_uri, DRIFT_MONITOR_ENTITLEMENT_ISSUERS=json.dumps(binding))
    providers = [issuer.provider("home", cache_duration="1s"), partner.provider("partner", cache_duration="1s")]
    edge = await asyncio.to_thread(Envoy, run_dir, "envoy-two-issuers", server, providers, ca_pem.parent, "--rate-limit", "100000")
    channel = grpc.aio.secure_channel(edge.target, grpc.ssl_channel_credentials(ca_pem.read_bytes()))
    yield TwoIssuers(issuer, partner, channel)
    await channel.close()
    for process in (edge, server, partner):
        process.stop()


async def _registered(api: Api) -> Api:
    await api.users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True))
    return api


async def test_another_issuers_admin_claim_is_not_admin(two_issuers):
    owner = await _registered(two_issuers.api(two_issuers.home, unique("owner")))
    private = await owner.create_experiment()
    forged = await _registered(two_issuers.api(two_issuers.partner, unique("mallory"), ADMIN_ENTITLEMENT))
    real = await _registered(two_issuers.api(two_issuers.home, unique("ada"), ADMIN_ENTITLEMENT))

    with pytest.raises(RpcError) as caught:
        await forged.users.ListUsers(user_pb2.ListUsersRequest())
    assert caught.value.code() == Code.PERMISSION_DENIED
    with pytest.raises(RpcError) as caught:
        await forged.get_experiment(private.id)
    assert caught.value.code() == Code.NOT_FOUND
    me = await forged.users.GetCurrentUser(user_pb2.GetCurrentUserRequest())
    assert not me.admin and ADMIN_ENTITLEMENT not in me.entitlements

    assert (await real.get_experiment(private.id)).id == private.id  # the same claim from the home issuer
    assert (await real.users.GetCurrentUser(user_pb2.GetCurrentUserRequest())).admin
    listed = await real.users.ListUsers(user_pb2.ListUsersRequest(filter=f'issuer = "{two_issuers.partner.url}"', page_size=1000))
    assert listed.users and not any(user.admin for user in listed.users)


async def test_grants_to_a_group_reach_only_the_issuer_allowed_to_assert_it(two_issuers):
    owner = await _registered(two_issuers.api(two_issuers.home, unique("owner")))
    grants = [experiment_pb2.Grant(entity=GROUP, level=READ), experiment_pb2.Grant(entity=PARTNER_GROUP, level=READ)]
    private = await owner.create_experiment(unique("bound"), grants=grants)

    home_member = two_issuers.api(two_issuers.home, unique("member"), GROUP)
    partner_claiming_home = two_issuers.api(two_issuers.partner, unique("claimer"), GROUP)
    partner_member = two_issuers.api(two_issuers.partner, unique("auditor"), PARTNER_GROUP)

    assert (await home_member.get_experiment(private.id)).id == private.id
    assert (await partner_member.get_experiment(private.id)).id == private.id  # its own namespace counts
    for call in (partner_claiming_home.get_experiment(private.id), partner_claiming_home.lookup_experiment(private.name)):
        with pytest.raises(RpcError) as caught:
            await call
        assert caught.value.code() == Code.NOT_FOUND
    names = {e.name for e in (await partner_claiming_home.list_experiments(page_size=1000)).experiments}
    assert private.name not in names


async def test_without_the_setting_one_issuer_asserts_entitlements_as_before(people, shared_scenario):
    """The session server has no DRIFT_MONITOR_ENTITLEMENT_ISSUERS: its one issuer's groups and admin count."""
    assert (await people["group_member"].get_experiment(shared_scenario.private.id)).id == shared_scenario.private.id
    assert (await people["admin"].users.GetCurrentUser(user_pb2.GetCurrentUserRequest())).admin


@pytest.mark.parametrize("raw", ["not json", "[]", '{"https://x": "urn:*"}', '{"https://x": [""]}', '{"": ["*"]}'])
async def test_a_malformed_binding_is_refused_at_start_up_naming_the_variable(raw):
    from server.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="DRIFT_MONITOR_ENTITLEMENT_ISSUERS"):
        Settings.from_env({"DRIFT_MONITOR_PROXY_SECRET": "x" * 16, "DRIFT_MONITOR_ENTITLEMENT_ISSUERS": raw})
