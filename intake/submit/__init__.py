"""Public blueprint for submitters: landing page, form, receipt, return visits."""

from intake.submit.views import bp

__all__ = ["bp"]
