"""E-mail messages: Outlook `.msg` (python-oxmsg) and MIME `.eml` (the standard
library's `email` package).

    message ─► "# Subject" ─► From, To, Cc, Date (encoded words decoded) ─►
    the body: plain text if the message has it, else its HTML converted as a
    page is (web.py, whole page) ─► "## Attachments": name, type and size of
    each; a message attached to the message is converted below it, once
    (messages nested deeper are listed, not opened)

Attachments are never written anywhere and their names never become paths.
A message whose body Outlook kept only as compressed RTF says so in the output
instead of pretending it was empty.
"""

from __future__ import annotations

import email
import email.policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from batchgui.core.operation import TaskContext
from batchgui.operations.text.markdown import Assets
from batchgui.operations.text.web import page_markdown

_PR_DISPLAY_TO = 0x0E04
_PR_DISPLAY_CC = 0x0E03
_PR_RTF_COMPRESSED = 0x1009


def outlook(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
    """An Outlook .msg file (an OLE2 container of MAPI properties)."""
    from oxmsg import Message

    return _outlook_markdown(Message.load(str(src)), level=1)


def mime(src: Path, ctx: TaskContext, assets: Assets, options: dict[str, Any]) -> str:
    """A MIME message (.eml), as mail programs save them."""
    with open(src, "rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    return _mime_markdown(message, level=1)  # type: ignore[arg-type]


def _outlook_markdown(message: Any, level: int) -> str:
    props = message.properties
    headers = message.message_headers or {}
    fields = [
        ("From", _decoded(message.sender or headers.get("From"))),
        ("To", _decoded(props.str_prop_value(_PR_DISPLAY_TO) or headers.get("To"))),
        ("Cc", _decoded(props.str_prop_value(_PR_DISPLAY_CC) or headers.get("Cc"))),
        ("Date", message.sent_date.isoformat(sep=" ") if message.sent_date else ""),
    ]
    body = message.body
    if not (body or "").strip() and message.html_body:
        body = page_markdown(message.html_body, main_only=False)
    if not (body or "").strip() and props.binary_prop_value(_PR_RTF_COMPRESSED):
        body = "*(the body is stored only as rich text (RTF), which is not converted)*"
    parts = [_head(_decoded(message.subject) or "(no subject)", fields, body, level)]
    listed = []
    for attachment in message.attachments:
        data = attachment.file_bytes
        if data is None:  # a message or an object embedded in this one
            listed.append(f"- {attachment.file_name or '(an attached message or object)'}")
            continue
        name = _decoded(attachment.file_name) or "(unnamed)"
        listed.append(f"- {name} ({attachment.mime_type}, {len(data):,} bytes)")
    parts.append(_attachments(listed, level))
    return "\n\n".join(p for p in parts if p).strip() + "\n"


def _mime_markdown(message: EmailMessage, level: int) -> str:
    fields = [(name, _decoded(message.get(name))) for name in ("From", "To", "Cc", "Date")]
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    body = ""
    if plain is not None:
        body = plain.get_content()
    if not body.strip() and html is not None:
        body = page_markdown(html.get_content(), main_only=False)
    parts = [_head(_decoded(message.get("Subject")) or "(no subject)", fields, body, level)]
    listed = []
    for part in message.iter_attachments():
        name = _decoded(part.get_filename()) or "(unnamed)"
        size = len(part.get_payload(decode=True) or b"")
        listed.append(f"- {name} ({part.get_content_type()}, {size:,} bytes)")
        if part.get_content_type() == "message/rfc822" and level == 1:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], EmailMessage):
                parts.append(_mime_markdown(inner[0], level=2))
    parts.append(_attachments(listed, level))
    return "\n\n".join(p for p in parts if p).strip() + "\n"


def _head(subject: str, fields: list[tuple[str, str]], body: str | None, level: int) -> str:
    hashes = "#" * level
    lines = [f"{hashes} {subject}", ""]
    lines += [f"**{name}:** {value}  " for name, value in fields if value]
    text = (body or "").replace("\r\n", "\n").strip()
    return "\n".join(lines).rstrip() + ("\n\n" + text if text else "")


def _attachments(listed: list[str], level: int) -> str:
    if not listed:
        return ""
    return f"{'#' * (level + 1)} Attachments\n\n" + "\n".join(listed)


def _decoded(value: Any) -> str:
    """A header's text with RFC 2047 encoded words (=?GBK?B?…?=) decoded."""
    if value is None:
        return ""
    text = str(value).replace("\x00", "")
    if "=?" not in text:
        return " ".join(text.split())
    try:
        return " ".join(str(make_header(decode_header(text))).split())
    except (LookupError, UnicodeDecodeError, ValueError):
        return " ".join(text.split())  # an unknown charset: the header as written
