"""Database access: models, engines and sessions, migrations.

Both platform/ and worker/ may use this package; it imports neither.
"""
