"""The platform: REST API, web UI, gatekeeper, scheduler, hub, log service and poller.

Never imports roundhouse.worker; talks to workers only through the broker.
"""
