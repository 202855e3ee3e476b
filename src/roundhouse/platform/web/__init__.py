"""The web UI: server-rendered pages (Jinja2) built from the API's own resource dicts, plus
small scripts for live updates and the log viewer (docs/web.md).
"""
