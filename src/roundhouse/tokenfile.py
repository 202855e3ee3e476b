"""Where the platform keeps the admin API token, inside its data directory.

A module of its own so that the CLI finds the token without loading the settings (~0.17 s).
"""

ADMIN_TOKEN_FILE = "admin-token"
