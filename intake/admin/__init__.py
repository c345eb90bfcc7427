"""Admin blueprint (first-run setup, invitations, vetting, audit log) and operator commands."""

from intake.admin import commands
from intake.admin.views import bp

__all__ = ["bp", "commands"]
