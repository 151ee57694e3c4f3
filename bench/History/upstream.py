#!/usr/bin/env python3
"""A minimal OpenAI-shaped upstream for the metered-call figures: every POST answers one chat completion with usage.
A request whose body contains "upstream-fail" is answered 502 (a failed call: released, not charged); the usage
grows with the request body and max_tokens, so records differ as real ones do.
Usage: upstream.py PORT (loopback only; runs until killed)."""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def body(prompt, completion):
    return json.dumps({"id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                                 "total_tokens": prompt + completion}}).encode()

BODY = body(9, 1)

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body waits for the gateway's delayed ACK of the headers
    # (40 ms on Linux): every metered call measured ~40 ms slower than it is (bench/README, issue #13 findings).
    disable_nagle_algorithm = True
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, answer = 200, BODY
        if b"upstream-fail" in raw:
            status, answer = 502, b'{"error": {"message": "bad gateway", "type": "server_error"}}'
        elif b"max_tokens" in raw:
            try:
                request = json.loads(raw)
                answer = body(9 + len(raw) // 8, max(1, int(request.get("max_tokens", 16)) // 2))
            except ValueError:
                pass
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
