"""Calls a model over the KServe v2 (Open Inference Protocol) gRPC API with NVIDIA's tritonclient, a client
tenantmesh does not write, over mutual TLS: the server certificate checked against --ca for --authority (sent as
TLS server name and HTTP/2 :authority), the client certificate --cert/--key presented. Prints, as JSON, whether
the model says it is ready and every output tensor of one inference of --inputs (rows of FP64 features).

Usage: kserve_v2_grpc_client.py --address host:port --authority name --ca f --cert f --key f --model m --inputs json
"""
import argparse
import json
import sys

import numpy
import tritonclient.grpc as grpcclient


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag in ("--address", "--authority", "--ca", "--cert", "--key", "--model", "--inputs"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    client = grpcclient.InferenceServerClient(
        url=args.address,
        ssl=True,
        root_certificates=args.ca,
        private_key=args.key,
        certificate_chain=args.cert,
        channel_args=[
            ("grpc.ssl_target_name_override", args.authority),
            ("grpc.default_authority", args.authority),
        ],
    )
    rows = numpy.array(json.loads(args.inputs), dtype=numpy.float64)
    tensor = grpcclient.InferInput("input-0", list(rows.shape), "FP64")
    tensor.set_data_from_numpy(rows)
    ready = client.is_model_ready(args.model)
    result = client.infer(args.model, [tensor])
    outputs = {
        output.name: result.as_numpy(output.name).tolist() for output in result.get_response().outputs
    }
    json.dump({"ready": ready, "outputs": outputs}, sys.stdout)


if __name__ == "__main__":
    main()
