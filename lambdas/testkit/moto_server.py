"""moto's server, speaking one more wire protocol: Smithy RPC v2 CBOR.

The AWS SDK for Rust talks to CloudWatch in RPC v2 CBOR (since aws-sdk-cloudwatch 1.100), which
moto (5.2) does not understand; moto does speak CloudWatch's JSON 1.0 protocol, with the same
operations and shapes. So a request to `/service/<target>/operation/<Op>` is decoded from CBOR,
handed to moto as JSON 1.0 (`X-Amz-Target: <target>.<Op>`), and moto's answer encoded back into
CBOR, with timestamps tagged as the protocol wants them (from botocore's model of the service).
Everything else goes to moto untouched. Run as `moto_server` is: `-H 127.0.0.1 -p PORT`.

It also refuses what AWS refuses and moto accepts, where tgpipe's behaviour depends on it: API
Gateway answers `ConflictException` to a second route with the same key, or a second stage of the
same name, on one API (two `up`s at once meet it).
"""

import base64
import datetime
import io
import json
import sys

import cbor2
from botocore.session import get_session

import moto.server
from moto.apigatewayv2.models import Api
from moto.core.exceptions import JsonRESTError
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

# The services whose SDKs speak CBOR, by their JSON target prefix.
SERVICES = {"GraniteServiceVersion20100801": "cloudwatch"}


def to_json(value):
    """A decoded CBOR value as JSON 1.0 carries it: timestamps as epoch seconds, blobs base64."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        return float(value.value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def to_cbor(value, shape):
    """moto's JSON answer shaped as the CBOR protocol wants it, following `shape`."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        return {
            k: to_cbor(v, shape.members.get(k))
            for k, v in value.items()
            if k in shape.members and v is not None
        }
    if kind == "list":
        return [to_cbor(v, shape.member) for v in value]
    if kind == "map":
        return {k: to_cbor(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, str):
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            # A time without a zone is UTC, as AWS writes them, whatever this machine's zone.
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=datetime.timezone.utc)
            value = parsed.timestamp()
        return cbor2.CBORTag(1, float(value))
    if kind in ("double", "float"):
        return float(value)
    if kind in ("integer", "long"):
        return int(value)
    if kind == "blob":
        return base64.b64decode(value)
    return value


class Cbor:
    """WSGI middleware: RPC v2 CBOR in front of moto's JSON 1.0."""

    def __init__(self, app):
        self.app = app
        self.models = {}

    def __getattr__(self, name):
        return getattr(self.app, name)

    def model(self, service):
        if service not in self.models:
            self.models[service] = get_session().get_service_model(service)
        return self.models[service]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        parts = path[len("/service/") :].split("/operation/")
        if not path.startswith("/service/") or len(parts) != 2 or parts[0] not in SERVICES:
            return self.app(environ, start_response)
        target, operation = parts
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        request = to_json(cbor2.loads(raw)) if raw else {}
        data = json.dumps(request).encode()
        inner = dict(environ)
        inner.update(
            {
                "PATH_INFO": "/",
                "CONTENT_TYPE": "application/x-amz-json-1.0",
                "CONTENT_LENGTH": str(len(data)),
                "HTTP_X_AMZ_TARGET": f"{target}.{operation}",
                "wsgi.input": io.BytesIO(data),
            }
        )
        answered = {}

        def capture(status, headers, exc_info=None):
            answered["status"] = status
            answered["headers"] = headers
            return lambda _chunk: None

        chunks = self.app(inner, capture)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        status = answered.get("status", "500 INTERNAL SERVER ERROR")
        reply = json.loads(body) if body.strip() else {}
        if int(status.split()[0]) >= 300:
            # Errors carry `__type` (with or without the namespace) and `message`.
            reply = {
                "__type": reply.get("__type", "InternalFailure"),
                "message": reply.get("message") or reply.get("Message") or "",
            }
        else:
            op = self.model(SERVICES[target]).operation_model(operation)
            reply = to_cbor(reply, op.output_shape) if op.output_shape else {}
        encoded = cbor2.dumps(reply)
        # moto's own headers go on (x-amzn-query-error, which the SDK reads an error's code from
        # for CloudWatch as it does from AWS), but not those that describe the JSON body.
        kept = [
            (k, v)
            for k, v in answered.get("headers", [])
            if k.lower() not in ("content-type", "content-length", "transfer-encoding")
        ]
        start_response(
            status,
            kept
            + [
                ("Content-Type", "application/cbor"),
                ("smithy-protocol", "rpc-v2-cbor"),
                ("Content-Length", str(len(encoded))),
            ],
        )
        return [encoded]


class ConflictException(JsonRESTError):
    code = 409

    def __init__(self, message):
        super().__init__("ConflictException", message)


def refuse_duplicates():
    """API Gateway's refusals of a second route key or stage name on one API."""
    create_route, create_stage = Api.create_route, Api.create_stage

    def route(self, *args, **kwargs):
        key = kwargs.get("route_key")
        if any(r.route_key == key for r in self.routes.values()):
            raise ConflictException(f"Unable to create route. Route key {key} already exists.")
        return create_route(self, *args, **kwargs)

    def stage(self, config):
        name = config.get("stageName")
        if name in self.stages:
            raise ConflictException(f"Stage already exist: {name}")
        return create_stage(self, config)

    Api.create_route, Api.create_stage = route, stage


def dispatcher(*args, **kwargs):
    return Cbor(DomainDispatcherApplication(*args, **kwargs))


if __name__ == "__main__":
    refuse_duplicates()
    moto.server.DomainDispatcherApplication = dispatcher
    moto.server.main(sys.argv[1:])
