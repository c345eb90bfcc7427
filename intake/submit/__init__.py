"""Public blueprint for submitters: landing page, form, receipt, return visits."""

from intake.submit.uploads import add_upload_routes
from intake.submit.views import bp

add_upload_routes(bp)

__all__ = ["bp"]
