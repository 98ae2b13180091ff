"""Parse a message with Python's email package and print what a mail reader
would see, as JSON: decoded headers, and each leaf part with its type,
disposition, filename and decoded content (text as text, other parts as
SHA-256 and length). Used by protocols/mail's tests as an outside oracle."""
import email
import email.policy
import hashlib
import json
import sys

raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.default)

def addrs(name):
    h = msg.get(name)
    if h is None:
        return None
    return [{"name": a.display_name, "address": a.addr_spec} for a in h.addresses]

parts = []
for part in msg.walk():
    if part.is_multipart():
        continue
    payload = part.get_payload(decode=True) or b""
    entry = {
        "type": part.get_content_type(),
        "disposition": part.get_content_disposition(),
        "filename": part.get_filename(),
        "sha256": hashlib.sha256(payload).hexdigest(),
        "size": len(payload),
    }
    if part.get_content_maintype() == "text" and part.get_content_disposition() != "attachment":
        entry["text"] = part.get_content().replace("\r\n", "\n")
    parts.append(entry)

out = {
    "subject": str(msg["subject"]),
    "from": addrs("from"),
    "to": addrs("to"),
    "cc": addrs("cc"),
    "bcc_present": "bcc" in msg,
    "date": str(msg["date"]) if msg["date"] else None,
    "message_id": str(msg["message-id"]) if msg["message-id"] else None,
    "mime_version": str(msg["mime-version"]) if msg["mime-version"] else None,
    "defects": [type(d).__name__ for p in msg.walk() for d in p.defects],
    "max_line": max(len(l) for l in raw.split(b"\r\n")),
    "bare_lf": raw.replace(b"\r\n", b"").count(b"\n"),
    "parts": parts,
}
json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
