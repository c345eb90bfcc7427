"""Staff blueprint for lawyers: login, enrolment, inbox, case pages, replies."""

from intake.lawyer.views import bp

__all__ = ["bp"]
