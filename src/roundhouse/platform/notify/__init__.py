"""Notifications of builds from `.travis.yml` `notifications:`: email, Slack-compatible
incoming webhooks and generic webhooks, each delivery retried and every attempt recorded.
"""

from roundhouse.platform.notify.dispatcher import Notifier

__all__ = ["Notifier"]
