"""A loopback HTTP collector for the sink tests, speaking Splunk HEC's protocol.

Usage: hec_collector.py TOKEN FAIL_FIRST RECORD_FILE
Listens on 127.0.0.1 (a free port, printed as the first line of stdout). Answers 503 to the first FAIL_FIRST
requests, 401 to a wrong Authorization header, 400 to a batch containing POISON, and otherwise
{"text":"Success","code":0}. Every accepted batch is decompressed when gzip'd, checked to be a sequence of HEC
envelopes (JSON objects with an "event" key), and its events are appended to RECORD_FILE, one JSON line each,
together with the request's headers.
"""
import gzip
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN, FAIL_FIRST, RECORD_FILE = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
requests_seen = 0


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
        with lock, open(RECORD_FILE, "a") as record:
            for event in events:
                record.write(json.dumps({"request": number, "gzip": self.headers.get("Content-Encoding") == "gzip",
                                         "envelope": event}) + "\n")
        self.answer(200, {"text": "Success", "code": 0})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
