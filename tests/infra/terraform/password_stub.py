"""A stand-in for Secrets Manager's GetRandomPassword, for `terraform test` (scripts/check_terraform.sh).

Terraform 1.11's mock providers refuse ephemeral resources, so the test files give the provider
alias ``aws.password`` (used only by ``ephemeral.aws_secretsmanager_random_password.db``) a real AWS
provider whose Secrets Manager endpoint is this server on the loopback interface
(AWS_ENDPOINT_URL_SECRETS_MANAGER). It answers every GetRandomPassword with a fixed, recognisable
password, so a test can prove that this very value appears nowhere in the plan, and it logs each
request so the script can check what the configuration asked for (length, excluded characters).

Usage: python3 password_stub.py PORT_FILE REQUEST_LOG. Prints nothing; writes the port it bound to
PORT_FILE and one JSON line per request to REQUEST_LOG. Serves until killed.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Recognisable in any output; shaped like a real one (upper, lower, digits, punctuation).
SENTINEL_PASSWORD = "Sentinel-Pw-7f3c9a1e-NOT-A-REAL-PASSWORD-0042"
LOG_LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 with Content-Length: the AWS SDK keeps connections alive and reuses them.
    protocol_version = "HTTP/1.1"
    request_log = ""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        target = self.headers.get("X-Amz-Target", "")
        with LOG_LOCK, open(self.request_log, "a", encoding="utf-8") as log:
            log.write(json.dumps({"target": target, "body": json.loads(body or b"{}")}) + "\n")
        if target.endswith(".GetRandomPassword"):
            status, payload = 200, {"RandomPassword": SENTINEL_PASSWORD}
        else:
            status, payload = 400, {"__type": "InvalidRequestException", "message": f"stub: {target} unsupported"}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (http.server's signature)
        pass


def main() -> None:
    port_file, request_log = sys.argv[1], sys.argv[2]
    Handler.request_log = request_log
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(port_file, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
