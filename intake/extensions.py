"""Extensions created unbound; `create_app` binds them with `init_app`."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_wtf.csrf import CSRFProtect

from intake.ratelimit import client_session_key

babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=client_session_key, default_limits=[], headers_enabled=False)
