"""Settings from the environment and client construction, including SigV4 for
Amazon OpenSearch Service (checked against a local server that records what
it receives; no AWS account involved)."""
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from opensearchpy import Urllib3AWSV4SignerAuth

from chalicelib.store.opensearch_client import OpenSearchSettings, make_client
from chalicelib.store.opensearch_mapping import face_index, face_index_body, registry_index

FAKE_CREDS = {"AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE", "AWS_SECRET_ACCESS_KEY": "secret",
              "AWS_SESSION_TOKEN": "session-token-xyz"}


def test_settings_defaults_and_overrides():
    s = OpenSearchSettings.from_env({})
    assert (s.prefix, s.engine, s.space, s.shards, s.replicas, s.dim, s.refresh) == \
        ("openfrs", "lucene", "innerproduct", 1, 0, None, "true")
    s = OpenSearchSettings.from_env({
        "FRS_OPENSEARCH_PREFIX": "Prod", "FRS_OPENSEARCH_SPACE": "cosinesimil", "FRS_OPENSEARCH_M": "24",
        "FRS_OPENSEARCH_EF_CONSTRUCTION": "400", "FRS_OPENSEARCH_EF_SEARCH": "64",
        "FRS_OPENSEARCH_SHARDS": "2", "FRS_OPENSEARCH_REPLICAS": "1", "FRS_EMBEDDING_DIM": "512",
        "FRS_OPENSEARCH_REFRESH": "wait_for"})
    assert (s.prefix, s.space, s.m, s.ef_construction, s.ef_search, s.shards, s.replicas, s.dim,
            s.refresh) == ("prod", "cosinesimil", 24, 400, 64, 2, 1, 512, "wait_for")


@pytest.mark.parametrize("key,value", [("FRS_OPENSEARCH_ENGINE", "annoy"),
                                       ("FRS_OPENSEARCH_SPACE", "l2"),
                                       ("FRS_OPENSEARCH_REFRESH", "false")])
def test_settings_reject_unsupported_values(key, value):
    with pytest.raises(ValueError):
        OpenSearchSettings.from_env({key: value})


def test_mapping_types_every_custom_field_and_pins_the_engine():
    s = OpenSearchSettings()
    fields = {"n": "string", "i": "integer", "l": "long", "f": "float", "d": "double", "b": "boolean"}
    body = face_index_body(s, fields, 128)
    props = body["mappings"]["properties"]
    assert {k: v["type"] for k, v in props["ext"]["properties"].items()} == \
        {"n": "keyword", "i": "integer", "l": "long", "f": "float", "d": "double", "b": "boolean"}
    assert body["mappings"]["dynamic"] == "strict" and props["ext"]["dynamic"] == "strict"
    assert props["vector"]["dimension"] == 128
    # k-NN's default (faiss) is absent on the test node
    assert props["vector"]["method"]["engine"] == "lucene"
    assert body["settings"]["index"]["knn"] is True
    assert "vector" not in face_index_body(s, fields, None)["mappings"]["properties"]


def test_index_names_are_valid_and_unique_per_creation():
    s = OpenSearchSettings(prefix="openfrs")
    a, b = face_index(s, "Project/ÄÖ", "Set Name"), face_index(s, "Project/ÄÖ", "Set Name")
    assert a != b and a.startswith("openfrs-fs-") and a == a.lower() and len(a) < 100
    assert all(c.isalnum() or c == "-" for c in a)
    assert registry_index(s) == "openfrs-registry"


def test_plain_url_client():
    c = make_client({"OPENSEARCH_URL": "http://127.0.0.1:9299"})
    host = c.transport.hosts[0]
    assert (host["host"], host["port"]) == ("127.0.0.1", 9299)
    assert "http_auth" not in c.transport.kwargs


def test_no_endpoint_is_an_error():
    with pytest.raises(ValueError):
        make_client({})


class _Recorder(BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):  # noqa: N802 - http.server API
        self.seen.append(dict(self.headers))
        body = json.dumps({"version": {"number": "2.19.1", "distribution": "opensearch"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def recorder():
    _Recorder.seen = []
    srv = HTTPServer(("127.0.0.1", 0), _Recorder)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()


def test_sigv4_client_signs_every_request(monkeypatch, recorder):
    for k, v in FAKE_CREDS.items():
        monkeypatch.setenv(k, v)
    env = {"FRS_OPENSEARCH_ENDPOINT": f"http://127.0.0.1:{recorder.server_port}", "AWS_REGION": "eu-west-1"}
    client = make_client(env)
    assert isinstance(client.transport.kwargs["http_auth"], Urllib3AWSV4SignerAuth)
    assert client.info()["version"]["number"] == "2.19.1"
    headers = {k.lower(): v for k, v in _Recorder.seen[-1].items()}
    auth = headers["authorization"]
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKE/")
    assert "/eu-west-1/es/aws4_request" in auth and "Signature=" in auth
    assert headers["x-amz-security-token"] == "session-token-xyz"
    assert "x-amz-date" in headers


def test_sigv4_https_endpoint_and_serverless_service(monkeypatch):
    for k, v in FAKE_CREDS.items():
        monkeypatch.setenv(k, v)
    client = make_client({"FRS_OPENSEARCH_ENDPOINT": "search-frs-abc.eu-west-1.es.amazonaws.com",
                          "AWS_REGION": "eu-west-1", "FRS_OPENSEARCH_SERVICE": "aoss"})
    conn = client.transport.get_connection()
    assert conn.host == "https://search-frs-abc.eu-west-1.es.amazonaws.com:443"
    assert conn.use_ssl
    signed = client.transport.kwargs["http_auth"](
        "GET", "https://search-frs-abc.eu-west-1.es.amazonaws.com/", None)
    assert "/eu-west-1/aoss/aws4_request" in signed["Authorization"]


def test_sigv4_without_credentials_fails_loudly(monkeypatch, tmp_path):
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ValueError, match="credentials"):
        make_client({"FRS_OPENSEARCH_ENDPOINT": "https://x.es.amazonaws.com", "AWS_REGION": "eu-west-1"})
