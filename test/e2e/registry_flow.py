"""A model registry user's flow with the upstream `model-registry` Python client (PyPI), against one tenant's
registry on the local node: register a model, list, and find a version published through the management API.

Environment: REGISTRY_URL (https://registry.<tenant hostname> through the ingress gateway, or
http://<t>.<serving namespace>.svc inside the cluster), REGISTRY_PORT, REGISTRY_TOKEN, MODEL_NAME (the model to
register), UPLOADED_MODEL / UPLOADED_VERSION (published through the upload path), optional REGISTRY_CA (the
tenant CA's PEM file) and CONNECT_TO (host:port: where the registry's port really is; the client keeps the
registry's name for TLS SNI, certificate checks and the Host header, as `curl --connect-to` does). Prints a JSON
summary on success; fails with an assertion message.
"""

import json
import os
import socket
from urllib.parse import urlparse

from model_registry import ModelRegistry

url = os.environ["REGISTRY_URL"]
port = int(os.environ["REGISTRY_PORT"])
host = urlparse(url).hostname

if os.environ.get("CONNECT_TO"):
    connect_host, connect_port = os.environ["CONNECT_TO"].rsplit(":", 1)
    _getaddrinfo = socket.getaddrinfo

    def _connect_to(name, service, *args, **kwargs):
        if name == host and int(service) == port:
            return _getaddrinfo(connect_host, int(connect_port), *args, **kwargs)
        return _getaddrinfo(name, service, *args, **kwargs)

    socket.getaddrinfo = _connect_to

registry = ModelRegistry(
    url,
    port,
    author="e2e",
    is_secure=url.startswith("https://"),
    user_token=os.environ["REGISTRY_TOKEN"],
    custom_ca=os.environ.get("REGISTRY_CA") or None,
)

name = os.environ["MODEL_NAME"]
registered = registry.register_model(
    name,
    f"s3://elsewhere/{name}/1/",
    version="1",
    model_format_name="sklearn",
    model_format_version="1",
    metadata={"accuracy": 0.93},
)
assert registered.id and registered.id.isdigit(), registered
version = registry.get_model_version(name, "1")
assert version is not None and version.custom_properties == {"accuracy": 0.93}, version

listed = [model.name for model in registry.get_registered_models()]
assert name in listed and os.environ["UPLOADED_MODEL"] in listed, listed

artifact = registry.get_model_artifact(os.environ["UPLOADED_MODEL"], os.environ["UPLOADED_VERSION"])
assert artifact is not None, "the uploaded version has no model artifact"
print(
    json.dumps(
        {
            "registered": registered.name,
            "listed": sorted(listed),
            "uploaded": {
                "uri": artifact.uri,
                "modelFormatName": artifact.model_format_name,
                "modelFormatVersion": artifact.model_format_version,
                "state": str(artifact.state.value if hasattr(artifact.state, "value") else artifact.state),
            },
        }
    )
)
