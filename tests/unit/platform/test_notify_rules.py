"""Which notification targets fire (Travis's defaults, always/never/change, pull requests,
disabled targets), Travis's status messages, Slack rooms and webhook labels."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from roundhouse.platform.notify import slack, webhook
from roundhouse.platform.notify.message import status_message
from roundhouse.platform.notify.rules import Target, fires, targets


def test_no_notifications_means_one_email_to_the_default_recipients() -> None:
    assert targets(None) == [Target("email", 1, {})]
    assert targets({}) == [Target("email", 1, {})]


def test_configured_channels_replace_the_default_and_disabled_targets_drop_out() -> None:
    found = targets(
        {
            "email": [{"enabled": False}],
            "webhooks": [{"urls": ["http://a"]}, {"urls": ["http://b"]}],
            "irc": [{"channels": ["x"]}],
        }
    )
    assert [(t.channel, t.number) for t in found] == [("webhooks", 1), ("webhooks", 2)]


@pytest.mark.parametrize(
    ("channel", "state", "previous", "expected"),
    [
        ("email", "passed", "passed", False),  # on_success: change
        ("email", "passed", "failed", True),
        ("email", "passed", None, True),
        ("email", "failed", "failed", True),  # on_failure: always
        ("email", "started", None, False),  # on_start: never
        ("webhooks", "passed", "passed", True),  # on_success: always
        ("slack", "canceled", "canceled", True),
        ("slack", "errored", "passed", True),
        ("slack", "created", None, False),  # not a state anybody is told about
    ],
)
def test_travis_defaults(channel: str, state: str, previous: str | None, expected: bool) -> None:
    assert fires(Target(channel, 1, {}), state, previous, pull_request=False) is expected


def test_given_rules_override_the_defaults() -> None:
    target = Target(
        "webhooks", 1, {"on_success": "never", "on_failure": "change", "on_start": "always"}
    )
    assert not fires(target, "passed", "failed", pull_request=False)
    assert not fires(target, "failed", "failed", pull_request=False)
    assert fires(target, "failed", "passed", pull_request=False)
    assert fires(target, "started", "started", pull_request=False)


def test_pull_requests_get_no_email_and_chat_only_unless_turned_off() -> None:
    assert not fires(Target("email", 1, {}), "failed", None, pull_request=True)
    assert fires(Target("slack", 1, {}), "failed", None, pull_request=True)
    assert not fires(Target("slack", 1, {"on_pull_requests": False}), "failed", None, True)


@pytest.mark.parametrize(
    ("state", "previous", "message"),
    [
        ("passed", None, "Passed"),
        ("passed", "passed", "Passed"),
        ("passed", "failed", "Fixed"),
        ("failed", "passed", "Broken"),
        ("failed", "failed", "Still Failing"),
        ("failed", None, "Failed"),
        ("errored", "passed", "Errored"),
        ("canceled", "passed", "Canceled"),
        ("started", "passed", "Pending"),
    ],
)
def test_status_messages(state: str, previous: str | None, message: str) -> None:
    assert status_message(state, previous) == message


def test_slack_rooms() -> None:
    template = "https://{account}.slack.com/services/hooks/incoming-webhook"
    room = slack.room("team:tok3n#builds", template)
    assert room.url == "https://team.slack.com/services/hooks/incoming-webhook?token=tok3n"
    assert (room.channel, room.label) == ("#builds", "slack team#builds")
    plain = slack.room("https://chat.example.com/hooks/s3cret", template)
    assert (plain.url, plain.channel) == ("https://chat.example.com/hooks/s3cret", None)
    assert plain.label == "slack https://chat.example.com"
    with pytest.raises(slack.BadRoom, match="account:token#channel"):
        slack.room("just-a-name", template)


def test_webhook_labels_leave_out_what_may_be_secret() -> None:
    url = "https://user:pw@hooks.example.com:8443/ci/abc?token=x"
    assert webhook.label(url, secret=False) == "webhook https://hooks.example.com:8443/ci/abc"
    assert webhook.label(url, secret=True) == "webhook https://hooks.example.com:8443"


def test_webhook_signature_verifies_with_the_public_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signed = webhook.signature(key, '{"id": 1}')
    key.public_key().verify(
        base64.b64decode(signed), b'{"id": 1}', padding.PKCS1v15(), hashes.SHA1()
    )
