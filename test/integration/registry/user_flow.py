"""A model registry user's flow with the real `model-registry` Python client (PyPI), against one tenant.

Environment: REGISTRY_HOST (the host name the tenant's registry answers to), REGISTRY_PORT, REGISTRY_TOKEN,
UPLOADED_MODEL / UPLOADED_VERSION (a version published through the management API's upload path),
REGISTRY_BUCKET. The registry host is resolved to 127.0.0.1 here, as `curl --resolve` would, so the client sends
its real Host header. Through a TLS front (the e2e test's ingress gateway): REGISTRY_SCHEME=https, REGISTRY_CA (the
CA's PEM file) and CONNECT_TO (host:port where the registry's port really is, as `curl --connect-to`: SNI, the
certificate check and Host keep the registry's name). Fails with an assertion message; prints a JSON summary on
success.
"""

import json
import os
import socket
import sys

from model_registry import ModelRegistry
from model_registry.exceptions import StoreError
from model_registry.types import ArtifactState, ModelVersionState, RegisteredModelState

host = os.environ["REGISTRY_HOST"]
port = int(os.environ["REGISTRY_PORT"])
scheme = os.environ.get("REGISTRY_SCHEME", "http")
connect_host, connect_port = os.environ.get("CONNECT_TO", f"127.0.0.1:{port}").rsplit(":", 1)
_getaddrinfo = socket.getaddrinfo


def _resolve(name, service, *args, **kwargs):
    if name == host:
        return _getaddrinfo(connect_host, int(connect_port), *args, **kwargs)
    return _getaddrinfo(name, service, *args, **kwargs)


socket.getaddrinfo = _resolve

registry = ModelRegistry(
    f"{scheme}://{host}",
    port,
    author="ann",
    is_secure=scheme == "https",
    user_token=os.environ["REGISTRY_TOKEN"],
    custom_ca=os.environ.get("REGISTRY_CA") or None,
)
summary = {}

# Register a model with typed metadata and read back the same values and types.
metadata = {"accuracy": 0.97, "epochs": 12, "framework": "torch", "tuned": True}
rm = registry.register_model(
    "fraud-detector",
    "s3://tenant-bucket/fraud/1/",
    version="1.0.0",
    model_format_name="onnx",
    model_format_version="1",
    storage_key="my-data-connection",
    storage_path="fraud/1/",
    version_description="first cut",
    metadata=metadata,
)
assert rm.id and rm.id.isdigit(), f"registered model id {rm.id!r} is not a string of digits"
got = registry.get_registered_model("fraud-detector")
assert got is not None and got.id == rm.id and got.owner == "ann", f"registered model read back as {got}"
assert got.state == RegisteredModelState.LIVE, got.state
assert got.create_time_since_epoch.isdigit(), got.create_time_since_epoch
mv = registry.get_model_version("fraud-detector", "1.0.0")
assert mv is not None and mv.author == "ann" and mv.description == "first cut", f"version read back as {mv}"
assert mv.custom_properties == metadata, f"metadata {mv.custom_properties!r} != {metadata!r}"
for key, value in metadata.items():
    assert type(mv.custom_properties[key]) is type(value), f"{key}: {type(mv.custom_properties[key])} is not {type(value)}"
ma = registry.get_model_artifact("fraud-detector", "1.0.0")
assert ma is not None and ma.uri == "s3://tenant-bucket/fraud/1/", f"artifact read back as {ma}"
assert (ma.model_format_name, ma.model_format_version, ma.storage_key, ma.storage_path) == (
    "onnx",
    "1",
    "my-data-connection",
    "fraud/1/",
), ma

# A second version of the same model cannot reuse a version name.
try:
    registry.register_model("fraud-detector", "s3://x/", version="1.0.0", model_format_name="onnx", model_format_version="1")
    raise AssertionError("registering an existing version succeeded")
except StoreError:
    pass

# More models, then list them with paging in every order.
names = [f"model-{i:02d}" for i in range(12)]
for name in names:
    registry.register_model(name, f"s3://tenant-bucket/{name}/", version="1", model_format_name="sklearn", model_format_version="1")
# A model published through the management API before this flow started is listed first (the oldest id).
published_before = [os.environ["UPLOADED_MODEL"]] if os.environ.get("UPLOADED_MODEL") else []
everything = [*published_before, "fraud-detector", *names]
for order in ("order_by_id", "order_by_creation_time", "order_by_update_time"):
    for direction in ("ascending", "descending"):
        pager = getattr(getattr(registry.get_registered_models(), order)().page_size(5), direction)()
        seen = [m.name for m in pager]
        assert len(seen) == len(set(seen)), f"{order} {direction} repeated items: {seen}"
        assert sorted(seen) == sorted(everything), f"{order} {direction} saw {seen}"
        if order != "order_by_update_time":
            expected = everything if direction == "ascending" else list(reversed(everything))
            assert seen == expected, f"{order} {direction} out of order: {seen}"
summary["listed"] = len(everything)
versions = [v.name for v in registry.get_model_versions("fraud-detector")]
assert versions == ["1.0.0"], versions

# Update, then archive.
got.description = "detects fraud"
updated = registry.update(got)
assert updated.description == "detects fraud", updated
assert int(updated.last_update_time_since_epoch) >= int(got.last_update_time_since_epoch)
assert registry.get_registered_model("fraud-detector").description == "detects fraud"
mv.state = ModelVersionState.ARCHIVED
registry.update(mv)
assert registry.get_model_version("fraud-detector", "1.0.0").state == ModelVersionState.ARCHIVED
archived = registry.get_registered_model("model-00")
archived.state = RegisteredModelState.ARCHIVED
registry.update(archived)
assert registry.get_registered_model("model-00").state == RegisteredModelState.ARCHIVED

# What does not exist.
assert registry.get_registered_model("no-such-model") is None
assert registry.get_model_version("fraud-detector", "9.9.9") is None
try:
    registry.get_model_artifact("fraud-detector", "9.9.9")
    raise AssertionError("an artifact of a missing version was found")
except StoreError:
    pass
try:
    registry.get_model_version("no-such-model", "1")
    raise AssertionError("a version of a missing model was found")
except StoreError:
    pass

# A version published through the management API's upload path.
uploaded = os.environ.get("UPLOADED_MODEL")
if uploaded:
    artifact = registry.get_model_artifact(uploaded, os.environ["UPLOADED_VERSION"])
    assert artifact is not None, "the uploaded version has no model artifact"
    assert artifact.uri.startswith(f"s3://{os.environ['REGISTRY_BUCKET']}/models/{uploaded}/"), artifact.uri
    assert artifact.model_format_name == "onnx", artifact
    assert artifact.state == ArtifactState.LIVE, artifact.state
    summary["uploaded"] = {"uri": artifact.uri, "format": artifact.model_format_name}

print(json.dumps(summary))
sys.stdout.flush()
