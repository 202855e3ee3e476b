"""Email notifications over SMTP: recipients from `.travis.yml` or, as Travis does, the
commit's author and committer; a plain-text message with a Travis-style subject line.

smtplib runs in a thread, so a slow mail server holds up nothing but its own delivery.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from roundhouse.platform.notify.delivery import NotSent
from roundhouse.platform.notify.message import BuildMessage
from roundhouse.settings import Settings


def recipients(config: dict[str, Any], message: BuildMessage) -> list[str]:
    """The target's recipients (decrypted), else the commit's author and committer."""
    given = config.get("recipients")
    if given:
        found = [str(r).strip() for r in given if str(r).strip()]
    else:
        found = [message.commit.author_email, message.commit.committer_email]
    return list(dict.fromkeys(r for r in found if r))


def subject(message: BuildMessage) -> str:
    """`Broken: team/app#12 (main - abc1234)`, the form of Travis's subjects."""
    build = message.build
    return f"{message.status}: {message.slug}#{build.number} ({message.branch} - {build.sha[:7]})"


def compose(message: BuildMessage, to: list[str], sender: str) -> EmailMessage:
    build, commit = message.build, message.commit
    duration = "–" if message.duration is None else f"{message.duration} s"
    lines = [
        f"Build #{build.number} of {message.slug}: {message.status}.",
        "",
        f"Branch:   {message.branch}",
        f"Commit:   {build.sha[:7]} {commit.message.splitlines()[0] if commit.message else ''}",
        f"Author:   {commit.author} <{commit.author_email}>",
        f"Duration: {duration}",
        f"Build:    {message.build_url}",
        "",
        "Jobs:",
        *(f"  #{job.number} {job.state}  {job.name or ''}".rstrip() for job in message.jobs),
    ]
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(to)
    mail["Subject"] = subject(message)
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain="roundhouse")
    mail["X-Roundhouse-Build"] = str(build.id)
    mail.set_content("\n".join(lines) + "\n")
    return mail


def sender_of(settings: Settings) -> str:
    return settings.smtp_from or f"Roundhouse <roundhouse@{settings.name}>"


async def send(settings: Settings, mail: EmailMessage) -> None:
    """Hand the message to the SMTP server; NotSent says why not."""
    try:
        await asyncio.to_thread(_send, settings, mail)
    except smtplib.SMTPRecipientsRefused as error:
        refused = ", ".join(error.recipients)
        raise NotSent(f"The SMTP server refused the recipients {refused}.", retry=False) from None
    except smtplib.SMTPAuthenticationError as error:
        raise NotSent(
            f"The SMTP server refused smtp_user and smtp_password ({error.smtp_code}).",
            retry=False,
        ) from None
    except smtplib.SMTPResponseException as error:
        reply = error.smtp_error.decode(errors="replace") if isinstance(
            error.smtp_error, bytes) else str(error.smtp_error)  # fmt: skip
        raise NotSent(
            f"The SMTP server answered {error.smtp_code}: {reply}", retry=error.smtp_code < 500
        ) from None
    except (smtplib.SMTPException, OSError) as error:
        where = f"{settings.smtp_host}:{settings.smtp_port}"
        raise NotSent(f"The SMTP server {where} failed: {error}.") from None


def _send(settings: Settings, mail: EmailMessage) -> None:
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(mail)
