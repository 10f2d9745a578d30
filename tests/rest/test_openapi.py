"""openapi/drift_monitoring.swagger.json: a valid OpenAPI 2 document that covers every REST mapping in
protos/, and describes what Envoy really answers (responses are checked against its schemas)."""

from __future__ import annotations

import copy
import json
import ssl
import uuid
from typing import Any

import httpx
import jsonschema
import pytest
from google.api import annotations_pb2
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from drift_monitoring.v1 import alert_pb2, audit_pb2, drift_pb2, experiment_pb2, imports_pb2, user_pb2
from stack import ROOT

DOCUMENT = ROOT / "openapi" / "drift_monitoring.swagger.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return json.loads(DOCUMENT.read_text())


def test_the_document_is_valid_openapi(document):
    validate(document)


def test_the_validator_rejects_a_broken_document(document):
    """The control: the validator does catch an operation without responses."""
    broken = copy.deepcopy(document)
    del broken["paths"]["/v1/experiments"]["get"]["responses"]
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def http_rules() -> set[tuple[str, str, str]]:
    """(verb, path, operationId) of every google.api.http annotation in the protos."""
    rules = set()
    for module in (drift_pb2, experiment_pb2, user_pb2, imports_pb2, audit_pb2, alert_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                primary = method.GetOptions().Extensions[annotations_pb2.http]
                for index, rule in enumerate([primary, *primary.additional_bindings]):
                    verb = rule.WhichOneof("pattern")
                    rules.add((verb, getattr(rule, verb), f"{service.name}_{method.name}" + (f"{index + 1}" if index else "")))
    return rules


def test_every_rest_mapping_is_documented(document):
    rules = http_rules()
    assert len(rules) == 32  # 23 + AlertService + ExportDrifts
    documented = {(verb, path, op["operationId"]) for path, methods in document["paths"].items() for verb, op in methods.items()}
    assert documented == rules


def strict(document: dict[str, Any], name: str) -> dict[str, Any]:
    """A JSON schema for one definition in which objects with declared properties allow no others, so a
    field Envoy sends that the document does not know about (or names differently) is a failure."""
    definitions = copy.deepcopy(document["definitions"])
    for schema in definitions.values():
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    return {"$ref": f"#/definitions/{name}", "definitions": definitions}


def check(document: dict[str, Any], response: httpx.Response, name: str) -> dict[str, Any]:
    body = response.json()
    jsonschema.validate(body, strict(document, name), cls=jsonschema.Draft4Validator)
    return body


def test_envoy_answers_as_documented(document, envoy, ca_pem, issuer):
    headers = {"authorization": f"Bearer {issuer.token('editor')}"}
    with httpx.Client(base_url=envoy.url, verify=ssl.create_default_context(cafile=ca_pem), headers=headers, timeout=10) as api:
        check(document, api.post("/v1/users:register", json={"accept_terms": True}), "User")
        experiment = check(document, api.post("/v1/experiments", json={"name": f"openapi-{uuid.uuid4().hex[:8]}"}), "Experiment")
        drift = {
            "model": "xgb",
            "tags": ["a"],
            "concept_drift": {"detected": True, "parameters": {"p": 0.1, "nested": {"list": [1, "x", None]}}},
            "data_drift": {"detected": False, "features": [{"feature": "age", "test": "ks", "statistic": 0.2, "p_value": 0.5}]},
        }
        created = api.post(f"/v1/experiments/{experiment['id']}/drifts", params={"request_id": uuid.uuid4().hex}, json=drift)
        stored = check(document, created, "Drift")
        assert stored["concept_drift"]["parameters"]["nested"] == {"list": [1, "x", None]}
        leased = check(document, api.post(f"/v1/experiments/{experiment['id']}/drifts", json={"model": "leased", "lease_duration": "90s"}), "Drift")
        renewed = check(document, api.post(f"/v1/experiments/{experiment['id']}/drifts/{leased['id']}:renewLease", json={}), "RenewDriftLeaseResponse")
        assert leased["lease_duration"] == "90s" and renewed["status"] == "DRIFT_STATUS_RUNNING"
        api.delete(f"/v1/experiments/{experiment['id']}/drifts/{leased['id']}")
        listed = check(document, api.get(f"/v1/experiments/{experiment['id']}/drifts"), "ListDriftsResponse")
        assert [d["id"] for d in listed["drifts"]] == [stored["id"]]
        check(document, api.get("/v1/experiments"), "ListExperimentsResponse")
        found = check(document, api.get("/v1/experiments:lookup", params={"name": experiment["name"]}), "Experiment")
        assert found["id"] == experiment["id"]
        assert api.get("/v1/experiments:lookup", params={"name": experiment["name"][:-1] + "*"}).status_code == 404

        failure = api.get(f"/v1/experiments/{experiment['id']}/drifts", params={"filter": "status = = 1"})
        assert failure.status_code == 400
        assert check(document, failure, "Status")["code"] == 3  # INVALID_ARGUMENT

        # The watch stream: a JSON array of WatchDriftsResponse, cut here after the first heartbeat.
        with api.stream("GET", f"/v1/experiments/{experiment['id']}/drifts:watch") as stream:
            text = ""
            for chunk in stream.iter_text():
                text += chunk
                if text.rstrip().endswith("}"):
                    break
        events = json.loads(text + "]")
        stream_schema = document["paths"]["/v1/experiments/{experiment_id}/drifts:watch"]["get"]["responses"]["200"]["schema"]
        jsonschema.validate(events, {**stream_schema, "definitions": strict(document, "Drift")["definitions"]}, cls=jsonschema.Draft4Validator)
        assert events[0]["type"] == "DRIFT_EVENT_TYPE_HEARTBEAT"


def test_a_field_the_document_does_not_know_fails_the_check(document):
    """The control for the strict schemas above."""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "x", "colour": "red"}, strict(document, "Experiment"), cls=jsonschema.Draft4Validator)
