"""E-mail to Markdown: Outlook .msg files saved by real mail programs (from the
msg_parser project's test suite, BSD licence, tests/data/mail/) and MIME .eml
messages written with the standard library, converted as a user's run does."""

from __future__ import annotations

import shutil
from email.message import EmailMessage
from pathlib import Path

import pytest

from batchgui.core import TaskStatus
from batchgui.core.errors import ErrorKind
from tests.test_text import _run

MAIL = Path(__file__).parent / "data" / "mail"


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_outlook_messages_give_subject_people_date_body_and_attachments(tmp_path, mode):
    src = tmp_path / "in"
    shutil.copytree(MAIL, src, ignore=shutil.ignore_patterns("LICENSE*", "*.md"))
    tasks = _run([src], tmp_path / "out", mode=mode)
    assert {name: t.status for name, t in tasks.items()} == {
        "outer.msg": TaskStatus.COMPLETED,
        "other.msg": TaskStatus.COMPLETED,
    }
    notice = (tmp_path / "out" / "other.msg.md").read_text(encoding="utf-8")
    assert notice.startswith("# 投递状态通知 (Failure Notice)\n")
    # the sender was an RFC 2047 encoded word in GBK: decoded, not left as =?GBK?B?…
    assert "**From:** Mail Delivery Subsystem <mailer-daemon@tjdpf.org.cn>" in notice
    assert "**To:** yosipnps@model.com" in notice
    assert "**Date:** 2017-11-27 09:44:30" in notice
    assert "The recipients is locked. (User Locked)" in notice
    assert "对方服务器无法正常接收或者拒绝接收这封邮件" in notice  # the Chinese half of the body
    assert "## Attachments\n\n- default_attachment.eml" in notice
    outer = (tmp_path / "out" / "outer.msg.md").read_text(encoding="utf-8")
    assert outer.startswith("# outer subject\n") and "Outer body" in outer
    assert "- (an attached message or object)" in outer


def _eml(path: Path) -> Path:
    message = EmailMessage()
    message["Subject"] = "=?utf-8?q?Caf=C3=A9_minutes?="
    message["From"] = "Ada Example <ada@example.org>"
    message["To"] = "team@example.org"
    message["Date"] = "Tue, 01 Dec 2026 10:00:00 +0000"
    message.set_content(
        "<html><body><nav>Menu Home</nav><h2>Decisions</h2>"
        "<p>We keep the <b>Tuesday</b> slot.</p></body></html>",
        subtype="html",
    )
    message.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="sheet.csv")
    path.write_bytes(bytes(message))
    return path


def test_eml_message_with_html_body_and_attachment(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _eml(src / "minutes.eml")
    tasks = _run([src], tmp_path / "out", mode="thread")
    assert tasks["minutes.eml"].status is TaskStatus.COMPLETED
    text = (tmp_path / "out" / "minutes.eml.md").read_text(encoding="utf-8")
    assert text.startswith("# Café minutes\n")
    assert "**From:** Ada Example <ada@example.org>" in text
    assert "## Decisions" in text and "We keep the **Tuesday** slot." in text
    assert "- sheet.csv (text/csv, 8 bytes)" in text
    assert not list((tmp_path / "out").glob("sheet.csv*"))  # attachments are listed, not written


def test_damaged_or_mislabelled_msg_files_are_corrupt_never_retried(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    whole = (MAIL / "other.msg").read_bytes()
    (src / "truncated.msg").write_bytes(whole[:3000])  # OLE2 header, most sectors gone
    (src / "notes.msg").write_text("not an Outlook file")
    tasks = _run([src], tmp_path / "out", mode="thread")
    for name in ("truncated.msg", "notes.msg"):
        assert tasks[name].status is TaskStatus.FAILED, name
        assert tasks[name].error_kind is ErrorKind.CORRUPT, (name, tasks[name].error)
        assert tasks[name].attempts == 1
    assert not list((tmp_path / "out").glob("*.md"))
