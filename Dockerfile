# Intake application image.
#
#   docker compose build            (see docs/operators.md)
#
# Base images are pinned by exact tag. Pin by digest as well once you have
# pulled them (`docker buildx imagetools inspect python:3.11.13-slim-bookworm`
# prints it), e.g. FROM python:3.11.13-slim-bookworm@sha256:… — this file was
# written on a machine without access to the registry, so no digest is given.
#
# deploy/smoke performs the same steps without Docker (build-wheel, a fresh
# virtualenv, install from the hashed lock, migrate, gunicorn with
# config/gunicorn.py) and runs in CI.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

########## builder: compile catalogues, build the wheel, install into a venv
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
# Exactly the paths .dockerignore allows (and deploy/smoke copies).
COPY pyproject.toml wsgi.py ./
COPY requirements/runtime.txt requirements/build.txt ./requirements/
COPY config ./config
COPY crypto ./crypto
COPY intake ./intake
COPY migrations ./migrations
COPY deploy/build-wheel deploy/check-catalogues ./deploy/

# Every dependency comes from the hashed locks (requirements/, `make lock`):
# a package whose hash differs from the lock fails the build. A throwaway
# venv with the build tools compiles the catalogues and builds the wheel.
RUN python -m venv /opt/build \
 && /opt/build/bin/pip install --require-hashes -r requirements/build.txt \
 && deploy/build-wheel /opt/build/bin/python /src/dist

# The runtime venv: the locked dependencies, then the wheel alone (--no-deps:
# nothing is resolved outside the lock). pip compiles .pyc files here, so the
# read-only runtime never needs to write any.
RUN python -m venv /opt/intake \
 && /opt/intake/bin/pip install --require-hashes -r requirements/runtime.txt \
 && /opt/intake/bin/pip install --no-deps /src/dist/intake-*.whl \
 && /opt/intake/bin/pip check \
 && /opt/intake/bin/python -c "import config.gunicorn, crypto, intake, migrations" \
 && deploy/check-catalogues /src "$(/opt/intake/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

########## runtime
FROM ${PYTHON_IMAGE}

ENV PATH=/opt/intake/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    INTAKE_ENV=production \
    INTAKE_DATA_DIR=/data \
    INTAKE_BLOB_DIR=/data/blobs

# A fixed, unprivileged uid/gid: docs/operators.md uses it to chown secrets.
RUN groupadd --system --gid 10001 intake \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent \
        --no-create-home --shell /usr/sbin/nologin intake \
 && install -d -o 10001 -g 10001 -m 0700 /data /data/blobs \
 && install -d -m 0755 /srv/intake

COPY --from=builder /opt/intake /opt/intake

# An empty, root-owned working directory: nothing importable from the cwd.
WORKDIR /srv/intake
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000

# /healthz checks the database and the blob volume and answers "ok" or
# "unavailable", nothing else; config/healthcheck.py asks it on the first
# address of INTAKE_BIND (Python, because the image has no curl).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "-m", "config.healthcheck"]

# Gunicorn's settings live in the installed package: config/gunicorn.py.
CMD ["gunicorn", "-c", "python:config.gunicorn", "wsgi:app"]
