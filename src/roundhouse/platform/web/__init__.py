"""The web UI: server-rendered pages (Jinja2) built from the API's own resource dicts,
plus one small script for live updates and the log viewer.
"""
