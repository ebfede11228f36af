"""An azurerm provider double: a Terraform plugin (protocol 6, go-plugin over gRPC with TLS)
that pretends to be registry.terraform.io/hashicorp/azurerm 4.79.0 without talking to Azure.

Run by Terraform through a filesystem mirror (see harness.py); run directly it refuses, like
every go-plugin binary. Environment:

- TF_PLUGIN_MAGIC_COOKIE   set by Terraform (go-plugin handshake)
- TFDOUBLE_FIXTURES        JSON file describing existing Azure objects data sources read (datasources.py)
- TFDOUBLE_CLOUD           JSON file holding the Azure objects resources create, read, import and
                           delete (cloud.py); without it the double plans only: apply and import
                           are refused and a refresh returns the state unchanged
- TFDOUBLE_LOG             file to append a line per RPC to (debugging only)
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import tempfile
import threading
import time
import traceback
from concurrent import futures
from pathlib import Path

if __package__ in (None, ""):  # run as a script by the mirror's wrapper: import as a package
    _here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    __package__ = "tfdouble"

import grpc  # noqa: E402
from tf.gen import grpc_controller_pb2 as controller_pb  # noqa: E402
from tf.gen import grpc_controller_pb2_grpc as controller_rpc  # noqa: E402
from tf.gen import grpc_stdio_pb2_grpc as stdio_rpc  # noqa: E402
from tf.gen import tfplugin_pb2 as pb  # noqa: E402
from tf.gen import tfplugin_pb2_grpc as rpc  # noqa: E402

from tfdouble import cloud, cty, datasources, planning, schema, validators  # noqa: E402

MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
APPLY_REFUSAL = "the azurerm double does not apply"
NO_CLOUD_DETAIL = ("This provider is a test double for plan-time checks: it has no Azure behind it "
                   f"({cloud.CLOUD_ENV} names no cloud file).")


# ---------------------------------------------------------------- logging


def log(message: str) -> None:
    path = os.environ.get("TFDOUBLE_LOG")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{time.strftime('%H:%M:%S')} pid={os.getpid()} {message}\n")


# ---------------------------------------------------------------- helpers


def _attribute_path(path: list[tuple[str, object]]):
    """("attr", name) / ("int", index) / ("str", key) steps as a tfplugin6 AttributePath."""
    steps = []
    for kind, value in path:
        if kind == "attr":
            steps.append(pb.AttributePath.Step(attribute_name=value))
        elif kind == "int":
            steps.append(pb.AttributePath.Step(element_key_int=value))
        else:
            steps.append(pb.AttributePath.Step(element_key_string=value))
    return pb.AttributePath(steps=steps)


def _diagnostic(d: validators.Diag):
    message = pb.Diagnostic(
        severity=pb.Diagnostic.ERROR if d.severity == "error" else pb.Diagnostic.WARNING,
        summary=d.summary,
        detail=d.detail,
    )
    if d.path:
        message.attribute.CopyFrom(_attribute_path(d.path))
    return message


def _error(summary: str, detail: str = ""):
    return pb.Diagnostic(severity=pb.Diagnostic.ERROR, summary=summary, detail=detail)


def _decode(dynamic_value, ty):
    if dynamic_value.msgpack:
        return cty.unpack(dynamic_value.msgpack, ty)
    if dynamic_value.json:
        return cty.from_json(json.loads(dynamic_value.json), ty)
    return None


def _encode(value, ty):
    return pb.DynamicValue(msgpack=cty.pack(value, ty))


def _rules(section: str, type_name: str) -> dict | None:
    return schema.validation_rules().get(section, {}).get(type_name)


def _guard(method):
    """Turn an exception into an error diagnostic (and a log line) instead of a gRPC failure."""
    name = method.__name__

    def wrapper(self, request, context):
        started = time.monotonic()
        try:
            response = method(self, request, context)
        except Exception as error:  # noqa: BLE001 - reported to Terraform as a diagnostic
            log(f"{name} FAILED {error!r}\n{traceback.format_exc()}")
            response_type = getattr(pb, name).Response
            if "diagnostics" in response_type.DESCRIPTOR.fields_by_name:
                response = response_type(diagnostics=[_error(f"azurerm double: {name} failed", repr(error))])
            else:
                response = response_type()
        summary = ""
        diagnostics = getattr(response, "diagnostics", None)
        if diagnostics:
            summary = " diags=" + "; ".join(f"{pb.Diagnostic.Severity.Name(d.severity)}:{d.summary}"
                                            for d in diagnostics)
        type_name = getattr(request, "type_name", "")
        log(f"{name} {type_name} {1000 * (time.monotonic() - started):.1f}ms{summary}")
        return response

    wrapper.__name__ = name
    return wrapper


# ---------------------------------------------------------------- the provider service


def _validate_config(request, section: str, response, schema_of, type_of, what: str):
    """Validate{Resource,DataResource}Config: the schema's shape, then the provider's validators."""
    entry = schema_of(request.type_name)
    if entry is None:
        return response(diagnostics=[_error(f"azurerm double: unknown {what} {request.type_name}")])
    config = _decode(request.config, type_of(request.type_name))
    diags = validators.validate(entry["block"], _rules(section, request.type_name), config)
    return response(diagnostics=[_diagnostic(d) for d in diags])


class AzurermDouble(rpc.ProviderServicer):
    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.subscription_id: str | None = None
        self._schema_response = None
        self._fixtures = None

    def fixtures(self) -> dict:
        if self._fixtures is None:
            self._fixtures = datasources.load_fixtures()
        return self._fixtures

    def subscription(self) -> str:
        return (self.subscription_id or self.fixtures().get("defaults", {}).get("subscription_id")
                or datasources.DEFAULT_SUBSCRIPTION)

    def location(self) -> str:
        return self.fixtures().get("defaults", {}).get("location") or datasources.DEFAULT_LOCATION

    # -- metadata and schema

    def _capabilities(self):
        return pb.ServerCapabilities(plan_destroy=False, get_provider_schema_optional=False)

    @_guard
    def GetMetadata(self, request, context):
        schemas = schema.provider_schemas()
        return pb.GetMetadata.Response(
            server_capabilities=self._capabilities(),
            resources=[pb.GetMetadata.ResourceMetadata(type_name=n) for n in sorted(schemas["resource_schemas"])],
            data_sources=[pb.GetMetadata.DataSourceMetadata(type_name=n)
                          for n in sorted(schemas["data_source_schemas"])],
        )

    @_guard
    def GetProviderSchema(self, request, context):
        if self._schema_response is None:
            schemas = schema.provider_schemas()
            self._schema_response = pb.GetProviderSchema.Response(
                provider=schema.to_proto_schema(pb, schemas["provider"]),
                resource_schemas={n: schema.to_proto_schema(pb, s) for n, s in schemas["resource_schemas"].items()},
                data_source_schemas={n: schema.to_proto_schema(pb, s)
                                     for n, s in schemas["data_source_schemas"].items()},
                provider_meta=pb.Schema(block=pb.Schema.Block()),
                server_capabilities=self._capabilities(),
            )
        return self._schema_response

    @_guard
    def GetFunctions(self, request, context):
        return pb.GetFunctions.Response()

    @_guard
    def CallFunction(self, request, context):
        return pb.CallFunction.Response(error=pb.FunctionError(text="the azurerm double has no functions"))

    # -- provider configuration

    @_guard
    def ValidateProviderConfig(self, request, context):
        return pb.ValidateProviderConfig.Response()

    @_guard
    def ConfigureProvider(self, request, context):
        config = _decode(request.config, schema.provider_type()) or {}
        subscription = config.get("subscription_id")
        if isinstance(subscription, str):
            self.subscription_id = subscription
        return pb.ConfigureProvider.Response()

    @_guard
    def StopProvider(self, request, context):
        return pb.StopProvider.Response()

    # -- validation

    @_guard
    def ValidateResourceConfig(self, request, context):
        return _validate_config(request, "resources", pb.ValidateResourceConfig.Response,
                                schema.resource_schema, schema.resource_type, "resource type")

    @_guard
    def ValidateDataResourceConfig(self, request, context):
        return _validate_config(request, "data_sources", pb.ValidateDataResourceConfig.Response,
                                schema.data_source_schema, schema.data_source_type, "data source")

    # -- resources

    @_guard
    def UpgradeResourceState(self, request, context):
        ty = schema.resource_type(request.type_name)
        if not request.raw_state.json:
            return pb.UpgradeResourceState.Response(
                diagnostics=[_error("azurerm double: only JSON state can be upgraded")])
        value = cty.from_json(json.loads(request.raw_state.json), ty)
        return pb.UpgradeResourceState.Response(upgraded_state=_encode(value, ty))

    @_guard
    def ReadResource(self, request, context):
        if cloud.cloud_path() is None:
            # No cloud to ask: the object is what the state says it is.
            return pb.ReadResource.Response(new_state=request.current_state, private=request.private)
        ty = schema.resource_type(request.type_name)
        state = _decode(request.current_state, ty)
        if not isinstance(state, dict) or not isinstance(state.get("id"), str):
            return pb.ReadResource.Response(new_state=request.current_state, private=request.private)
        attributes = cloud.get(request.type_name, state["id"])
        if attributes is None:
            # Gone: a null new state (SDKv2's empty id), and Terraform plans to create it again.
            return pb.ReadResource.Response(new_state=_encode(None, ty), private=request.private)
        value = cty.from_json(attributes, ty)
        if "timeouts" in value:
            value["timeouts"] = state.get("timeouts")  # configuration, not Azure's: kept from the state
        return pb.ReadResource.Response(new_state=_encode(value, ty), private=request.private)

    @_guard
    def PlanResourceChange(self, request, context):
        entry = schema.resource_schema(request.type_name)
        ty = schema.resource_type(request.type_name)
        prior = _decode(request.prior_state, ty)
        proposed = _decode(request.proposed_new_state, ty)
        config = _decode(request.config, ty)
        planned, replace, errors = planning.plan(request.type_name, entry["block"],
                                                 _rules("resources", request.type_name), prior, proposed, config)
        return pb.PlanResourceChange.Response(
            diagnostics=[_error(e) for e in errors],
            planned_state=_encode(planned, ty),
            requires_replace=[_attribute_path(path) for path in replace],
            planned_private=request.prior_private,
            # azurerm's resources are terraform-plugin-sdk/v2 resources, which plan Defaults
            # into optional arguments: Terraform tolerates that only from the legacy type system.
            legacy_type_system=True,
        )

    @_guard
    def ApplyResourceChange(self, request, context):
        if cloud.cloud_path() is None:
            return pb.ApplyResourceChange.Response(diagnostics=[_error(APPLY_REFUSAL, NO_CLOUD_DETAIL)])
        type_name = request.type_name
        entry = schema.resource_schema(type_name)
        ty = schema.resource_type(type_name)
        prior = _decode(request.prior_state, ty)
        planned = _decode(request.planned_state, ty)
        if planned is None:  # destroy
            if isinstance(prior, dict) and isinstance(prior.get("id"), str):
                cloud.change(lambda objects: objects.pop(cloud.key(type_name, prior["id"]), None))
            return pb.ApplyResourceChange.Response(new_state=_encode(None, ty))
        new = cloud.created(type_name, entry["block"], planned, self.subscription(), self.location())
        new_key = cloud.key(type_name, new["id"])
        stored = cloud.entry(type_name, cty.to_json(new))

        def write(objects: dict) -> bool:
            if prior is None and new_key in objects:
                return False  # the provider's Create checks for an existing object first
            if isinstance(prior, dict) and isinstance(prior.get("id"), str):
                objects.pop(cloud.key(type_name, prior["id"]), None)
            objects[new_key] = stored
            return True

        if not cloud.change(write):
            return pb.ApplyResourceChange.Response(new_state=_encode(None, ty), diagnostics=[_error(
                cloud.IMPORT_AS_EXISTS.format(id=cloud.go_quote(new["id"]), type=cloud.go_quote(type_name)))])
        return pb.ApplyResourceChange.Response(new_state=_encode(new, ty), private=request.planned_private,
                                               legacy_type_system=True)

    @_guard
    def ImportResourceState(self, request, context):
        if cloud.cloud_path() is None:
            return pb.ImportResourceState.Response(diagnostics=[_error(
                "the azurerm double does not import", NO_CLOUD_DETAIL)])
        ty = schema.resource_type(request.type_name)
        try:
            cloud.parse_import_id(request.type_name, request.id)
        except cloud.ImportIdError as error:
            return pb.ImportResourceState.Response(diagnostics=[_error(str(error))])
        attributes = cloud.get(request.type_name, request.id)
        if attributes is None:
            # What SDKv2 returns after the importer: the id (and what the importer sets). Terraform
            # then reads the object; the null read makes it fail with "Cannot import
            # non-existent remote object", as with the real provider.
            attributes = cloud.imported_attributes(request.type_name, request.id)
        value = cty.from_json(attributes, ty)
        if "timeouts" in value:
            value["timeouts"] = None  # no configuration to read timeouts from during import
        return pb.ImportResourceState.Response(imported_resources=[pb.ImportResourceState.ImportedResource(
            type_name=request.type_name, state=_encode(value, ty))])

    @_guard
    def MoveResourceState(self, request, context):
        return pb.MoveResourceState.Response(diagnostics=[_error("the azurerm double does not move state")])

    # -- data sources

    @_guard
    def ReadDataSource(self, request, context):
        entry = schema.data_source_schema(request.type_name)
        ty = schema.data_source_type(request.type_name)
        config = _decode(request.config, ty) or {}
        try:
            state = datasources.read(request.type_name, entry["block"], config, self.subscription_id,
                                     self.fixtures())
        except datasources.ReadError as error:
            return pb.ReadDataSource.Response(diagnostics=[_error(str(error))])
        return pb.ReadDataSource.Response(state=_encode(state, ty))


# ---------------------------------------------------------------- go-plugin plumbing


class Controller(controller_rpc.GRPCControllerServicer):
    def __init__(self, stop: threading.Event):
        self.stop = stop

    def Shutdown(self, request, context):
        log("Shutdown")
        self.stop.set()
        return controller_pb.Empty()


class Stdio(stdio_rpc.GRPCStdioServicer):
    def StreamStdio(self, request, context):
        # Nothing is forwarded: the double writes nothing but the handshake to stdout.
        log("StreamStdio")
        return iter(())


def self_signed_certificate() -> tuple[bytes, bytes, bytes]:
    """(DER, PEM certificate, PEM key) of a fresh ECDSA P-256 certificate for "localhost"."""
    from datetime import datetime, timedelta, timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "plgen azurerm double")])
    now = datetime.now(timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                     data_encipherment=False, key_agreement=True, key_cert_sign=True,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=True)
        .sign(key, hashes.SHA256())
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return der, cert_pem, key_pem


def serve() -> int:
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.stderr.write("This binary is a plugin. These are not meant to be executed directly.\n"
                         "Please execute the program that consumes these plugins, which will load any plugins "
                         "automatically\n")
        return 1
    versions = os.environ.get("PLUGIN_PROTOCOL_VERSIONS", "6")
    if "6" not in versions.split(","):
        sys.stderr.write(f"azurerm double speaks protocol 6 only; Terraform offered {versions}\n")
        return 1

    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as go-plugin servers do: the client decides
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    socket_dir = tempfile.mkdtemp(prefix="tfdouble-")
    socket_path = os.path.join(socket_dir, "plugin.sock")
    der, cert_pem, key_pem = self_signed_certificate()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_send_message_length", 256 << 20),
                                  ("grpc.max_receive_message_length", 256 << 20)])
    rpc.add_ProviderServicer_to_server(AzurermDouble(stop), server)
    controller_rpc.add_GRPCControllerServicer_to_server(Controller(stop), server)
    stdio_rpc.add_GRPCStdioServicer_to_server(Stdio(), server)
    # Terraform sends its own certificate in PLUGIN_CLIENT_CERT; it also accepts a server that
    # does not ask for it, which keeps the double simple.
    credentials = grpc.ssl_server_credentials([(key_pem, cert_pem)], require_client_auth=False)
    server.add_secure_port("unix:" + socket_path, credentials)
    server.start()
    log(f"serving on {socket_path} (terraform pid {os.getppid()})")

    certificate = base64.b64encode(der).decode().rstrip("=")  # RawStdEncoding
    sys.stdout.write(f"1|6|unix|{socket_path}|grpc|{certificate}\n")
    sys.stdout.flush()

    parent = os.getppid()
    try:
        while not stop.wait(0.5):
            if os.getppid() != parent:  # Terraform went away without saying goodbye
                log("parent exited")
                break
    finally:
        server.stop(grace=0.5).wait(2)
        try:
            os.unlink(socket_path)
        except OSError:
            pass
        try:
            os.rmdir(socket_dir)
        except OSError:
            pass
        log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(serve())
