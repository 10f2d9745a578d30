"""UserService: registration, profile re-sync from the token, admin-only listing."""

from drift_monitoring.v1 import user_pb2
from sandbox import personas
from tests.conftest import SECRET
from tests.integration.helpers import Api, Code, claims_for, expect_error, unique


def test_register_requires_accepting_terms(channel):
    api = Api(channel, SECRET, claims_for(unique("u"), []))
    expect_error(Code.INVALID_ARGUMENT, lambda: api.users.RegisterUser(user_pb2.RegisterUserRequest()), mentions="accept_terms")
    expect_error(Code.NOT_FOUND, lambda: api.users.GetCurrentUser(user_pb2.GetCurrentUserRequest()))


def test_register_is_stable_and_get_returns_profile(channel):
    subject = unique("u")
    api = Api(channel, SECRET, claims_for(subject, ["urn:x"], name="First Name"))
    first = api.users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True))
    again = api.users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True))
    assert first.id == again.id and first.create_time == again.create_time
    me = api.users.GetCurrentUser(user_pb2.GetCurrentUserRequest())
    assert (me.subject, me.issuer, me.name, list(me.entitlements), me.admin) == (subject, personas.ISSUER, "First Name", ["urn:x"], False)
    assert me.HasField("terms_accept_time")


def test_same_subject_from_another_issuer_is_another_user(channel):
    subject = unique("u")
    one = Api(channel, SECRET, claims_for(subject, [])).register()
    other_claims = claims_for(subject, [])
    other_claims["iss"] = "https://other-issuer.example.org"
    assert Api(channel, SECRET, other_claims).register().id != one.id


def test_update_current_user_resyncs_claims(channel):
    subject = unique("u")
    Api(channel, SECRET, claims_for(subject, [], name="Old")).register()
    renamed = Api(channel, SECRET, claims_for(subject, ["urn:new"], name="New"))
    user = renamed.users.UpdateCurrentUser(user_pb2.UpdateCurrentUserRequest())
    assert (user.name, list(user.entitlements)) == ("New", ["urn:new"])


def test_update_current_user_before_registering_is_refused(channel):
    api = Api(channel, SECRET, claims_for(unique("u"), []))
    expect_error(Code.FAILED_PRECONDITION, lambda: api.users.UpdateCurrentUser(user_pb2.UpdateCurrentUserRequest()))


def test_list_users_for_admins(people):
    listed = people["admin"].users.ListUsers(user_pb2.ListUsersRequest(filter='name = "Rita Reader"'))
    assert [u.id for u in listed.users] == [people["reader"].id]
    admins = people["admin"].users.ListUsers(user_pb2.ListUsersRequest(filter="entitlements:urn:drift-monitoring:group:admins"))
    assert [u.admin for u in admins.users] == [True]
    expect_error(Code.PERMISSION_DENIED, lambda: people["manager"].users.ListUsers(user_pb2.ListUsersRequest()))


def test_anonymous_cannot_register(people):
    expect_error(Code.UNAUTHENTICATED, lambda: people["anonymous"].users.RegisterUser(user_pb2.RegisterUserRequest(accept_terms=True)))
