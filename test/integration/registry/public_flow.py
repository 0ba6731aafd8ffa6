"""One signed-in caller's use of a public tenant's registry with the real `model-registry` Python client (PyPI).

Environment: REGISTRY_HOST, REGISTRY_PORT, REGISTRY_TOKEN, MODEL_NAME. The caller registers a model and reads it
back; the tenant grants nothing to this caller but through `system:authenticated`. The host is resolved to
127.0.0.1 here so the client sends its real Host header. Prints a JSON summary on success.
"""

import json
import os
import socket

from model_registry import ModelRegistry

host = os.environ["REGISTRY_HOST"]
_getaddrinfo = socket.getaddrinfo
socket.getaddrinfo = lambda name, *args, **kwargs: _getaddrinfo("127.0.0.1" if name == host else name, *args, **kwargs)

registry = ModelRegistry(
    f"http://{host}",
    int(os.environ["REGISTRY_PORT"]),
    author="walk-in",
    is_secure=False,
    user_token=os.environ["REGISTRY_TOKEN"],
)
name = os.environ["MODEL_NAME"]
registry.register_model(name, f"s3://public/{name}/", version="1", model_format_name="onnx", model_format_version="1")
model = registry.get_registered_model(name)
assert model is not None and model.name == name, model
version = registry.get_model_version(name, "1")
assert version is not None and version.name == "1", version
print(json.dumps({"model": model.name, "version": version.name}))
