"""The worker: takes job payloads from the broker, runs each in a backend, reports back.

Never imports roundhouse.platform; talks to the platform only through the broker.
"""
