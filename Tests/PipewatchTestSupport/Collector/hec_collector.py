"""A loopback HTTP collector for the sink tests, speaking Splunk HEC's protocol.

Usage: hec_collector.py TOKEN FAIL_FIRST RECORD_FILE [SERVER_CERT SERVER_KEY [CLIENT_CA]]
Listens on 127.0.0.1 (a free port, printed as the first line of stdout): plain HTTP, or HTTPS with SERVER_CERT and
SERVER_KEY (PEM); with CLIENT_CA too, only clients presenting a certificate signed by CLIENT_CA complete the TLS
handshake (mutual TLS). Answers 503 to the first FAIL_FIRST requests, 401 to a wrong Authorization header, 400 to
a batch containing POISON, and otherwise {"text":"Success","code":0}. Every accepted batch is decompressed when
gzip'd, checked to be a sequence of HEC envelopes (JSON objects with an "event" key), and its events are appended
to RECORD_FILE, one JSON line each, together with the request's number, whether it was gzip'd, whether it came over
TLS, and the common name of the client certificate (or null).
"""
import gzip
import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN, FAIL_FIRST, RECORD_FILE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
TLS = sys.argv[4:]
context = None
if TLS:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS[0], TLS[1])
    if len(TLS) > 2:
        context.load_verify_locations(TLS[2])
        context.verify_mode = ssl.CERT_REQUIRED
lock = threading.Lock()
requests_seen = 0


def client_name(connection):
    """The common name of the verified client certificate, or None."""
    certificate = connection.getpeercert() if isinstance(connection, ssl.SSLSocket) else None
    for entry in (certificate or {}).get("subject", ()):
        for key, value in entry:
            if key == "commonName":
                return value
    return None


def envelopes(text):
    decoder = json.JSONDecoder()
    position, found = 0, []
    while True:
        while position < len(text) and text[position] in " \r\n\t":
            position += 1
        if position >= len(text):
            return found
        value, position = decoder.raw_decode(text, position)
        found.append(value)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        global requests_seen
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            requests_seen += 1
            number = requests_seen
        if number <= FAIL_FIRST:
            return self.answer(503, {"text": "Server is busy", "code": 9})
        if self.headers.get("Authorization") != "Splunk " + TOKEN:
            return self.answer(401, {"text": "Invalid authorization", "code": 4})
        if self.path != "/services/collector/event":
            return self.answer(404, {"text": "Not found", "code": 404})
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        text = body.decode("utf-8")
        if "POISON" in text:
            return self.answer(400, {"text": "Invalid data format", "code": 6})
        try:
            events = envelopes(text)
            assert all(isinstance(e, dict) and "event" in e for e in events)
        except Exception:
            return self.answer(400, {"text": "Invalid data format", "code": 6})
        gzipped, client = self.headers.get("Content-Encoding") == "gzip", client_name(self.connection)
        lines = "".join(json.dumps({"request": number, "gzip": gzipped, "tls": context is not None, "client": client,
                                    "envelope": event}) + "\n" for event in events)
        # One write per batch, so that a test reading the file while batches arrive sees fewer partial lines.
        with lock, open(RECORD_FILE, "a") as record:
            record.write(lines)
        self.answer(200, {"text": "Success", "code": 0})


class Server(ThreadingHTTPServer):
    def finish_request(self, request, client_address):
        if context is None:
            return super().finish_request(request, client_address)
        # The handshake runs in the connection's own thread: a client that fails it holds up no other.
        with context.wrap_socket(request, server_side=True) as connection:
            super().finish_request(connection, client_address)

    def handle_error(self, request, client_address):
        # Refused handshakes are expected in the TLS tests: one line each, no traceback.
        print(f"{client_address[0]}:{client_address[1]}: {sys.exc_info()[1]}", file=sys.stderr, flush=True)


server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
