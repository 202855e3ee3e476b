"""ui indexes: the last build of each branch and of each pull request of a repository

The web UI's Branches and Pull requests tabs ask for the newest build per branch and per pull
request of one repository; these indexes answer that without reading all its builds.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 22:00:00
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_builds_repo_branch", "builds", ["repository_id", "branch", "number"])
    op.create_index(
        "ix_builds_repo_pull_request", "builds", ["repository_id", "pull_request_number", "number"]
    )


def downgrade() -> None:
    op.drop_index("ix_builds_repo_pull_request", table_name="builds")
    op.drop_index("ix_builds_repo_branch", table_name="builds")
