"""Public blueprint for submitters: landing page, form, receipt, return visits."""

from intake.submit.browser_encryption import add_browser_encryption
from intake.submit.uploads import add_upload_routes
from intake.submit.views import bp

add_upload_routes(bp)
add_browser_encryption(bp)

__all__ = ["bp"]
