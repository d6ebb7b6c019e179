"""Version 1.2: uploaded datasets (POST /api/datasets), owned and shared like jobs, their data packed in a blob.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("task", sa.String(16), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("features", sa.Text, nullable=False),
        sa.Column("classes", sa.Text, nullable=True),
        sa.Column("n_rows", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.String(32), nullable=True),
        sa.Column("class_id", sa.String(32), nullable=True),
        sa.Column("shared", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_uploads_owner_id", "uploads", ["owner_id"])
    op.create_index("ix_uploads_class_id", "uploads", ["class_id"])


def downgrade() -> None:
    op.drop_index("ix_uploads_class_id", "uploads")
    op.drop_index("ix_uploads_owner_id", "uploads")
    op.drop_table("uploads")
