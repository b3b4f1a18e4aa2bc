#!/usr/bin/python3
"""Prints one JSON object per .eml file given: its headers and decoded text and HTML parts.

    /usr/bin/python3 tests/smtp/parts.py FILE...

Standard library only (the tests read messages the way a mail client does: MIME decoded).
"""

import email
import email.policy
import json
import sys

out = []
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    parts = {}
    for part in msg.walk():
        if part.get_content_maintype() == "multipart":
            continue
        parts.setdefault(part.get_content_type(), part.get_content())
    out.append(
        {
            "file": path,
            "headers": {k: str(v) for k, v in msg.items()},
            "content_type": msg.get_content_type(),
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
        }
    )
json.dump(out, sys.stdout)
