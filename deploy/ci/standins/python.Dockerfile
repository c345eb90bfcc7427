# Stand-in for python:<3.11.x>-slim-bookworm: Debian's own Python 3.11.
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python-is-python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV LANG=C.UTF-8 PIP_CERT=/etc/ssl/certs/host-ca-certificates.crt
CMD ["python3"]
