"""Verifies one webhook request with the `standardwebhooks` library (PyPI), as a receiver would.

Usage: verify.py REQUEST_JSON
REQUEST_JSON holds {"secret": "whsec_...", "headers": {name: value}, "body": "<raw body>"}.
Prints the verified payload's `type` and exits 0, or prints why and exits 1.
"""

import json
import sys

from standardwebhooks import Webhook, WebhookVerificationError


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        request = json.load(f)
    try:
        payload = Webhook(request["secret"]).verify(request["body"], request["headers"])
    except WebhookVerificationError as e:
        print(f"not verified: {e}")
        return 1
    print(payload["type"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
