"""UserService: registration, profile re-sync from the token, admin-only listing."""

from drift_monitoring.v1 import user_pb2
import grpc

from tests.integration.helpers import Code, claims_for, direct_api, edge_api, expect_error, unique


def test_register_requires_accepting_terms(channel, issuer):
    api = edge_api(channel, issuer, claims_for(unique("u"), [], issuer.url))
    expect_error(Code.INVALID_ARGUMENT, lambda: api.users.RegisterUser(user_pb2.RegisterUserRequest()), mentions="accept_terms")
    expect_error(Code.NOT_FOUND, lambda: api.users.GetCurrentUser(user_pb2.GetCurrentUserRequest()))


def test_register_is_stable_and_get_returns_profile(channel, issuer):
    subject = unique("u")
    api = edge_api(channel, issuer, claims_for(subject, ["urn:x"], issuer.url, name="First Name"))
    first = api.users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True))
    again = api.users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True))
    assert first.id == again.id and first.create_time == again.create_time
    me = api.users.GetCurrentUser(user_pb2.GetCurrentUserRequest())
    assert (me.subject, me.issuer, me.name, list(me.entitlements), me.admin) == (subject, issuer.url, "First Name", ["urn:x"], False)
    assert me.HasField("terms_accept_time")


def test_same_subject_from_another_issuer_is_another_user(server, issuer):
    # Straight to the server, as Envoy would forward tokens of two trusted issuers.
    subject = unique("u")
    with grpc.insecure_channel(server.target) as channel:
        one = direct_api(channel, claims_for(subject, [], issuer.url)).register()
        other = direct_api(channel, claims_for(subject, [], "https://other-issuer.example.org")).register()
    assert other.id != one.id


def test_update_current_user_resyncs_claims(channel, issuer):
    subject = unique("u")
    edge_api(channel, issuer, claims_for(subject, [], issuer.url, name="Old")).register()
    renamed = edge_api(channel, issuer, claims_for(subject, ["urn:new"], issuer.url, name="New"))
    user = renamed.users.UpdateCurrentUser(user_pb2.UpdateCurrentUserRequest())
    assert (user.name, list(user.entitlements)) == ("New", ["urn:new"])


def test_update_current_user_before_registering_is_refused(channel, issuer):
    api = edge_api(channel, issuer, claims_for(unique("u"), [], issuer.url))
    expect_error(Code.FAILED_PRECONDITION, lambda: api.users.UpdateCurrentUser(user_pb2.UpdateCurrentUserRequest()))


def test_list_users_for_admins(people):
    listed = people["admin"].users.ListUsers(user_pb2.ListUsersRequest(filter='name = "Rita Reader"'))
    assert [u.id for u in listed.users] == [people["reader"].id]
    admins = people["admin"].users.ListUsers(user_pb2.ListUsersRequest(filter="entitlements:urn:drift-monitoring:group:admins"))
    assert [u.admin for u in admins.users] == [True]
    expect_error(Code.PERMISSION_DENIED, lambda: people["manager"].users.ListUsers(user_pb2.ListUsersRequest()))


def test_anonymous_cannot_register(people):
    expect_error(Code.UNAUTHENTICATED, lambda: people["anonymous"].users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True)))
