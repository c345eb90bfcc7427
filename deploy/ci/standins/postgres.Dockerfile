# Stand-in for postgres:15.x-bookworm: Debian's postgresql-15, user postgres =
# uid 999, and an entrypoint that honours the official image's POSTGRES_*
# variables the compose file uses.
ARG BASE
FROM ${BASE}
RUN groupadd --system --gid 999 postgres \
 && useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres \
 && mkdir -p /etc/postgresql-common \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o 999 -g 999 -m 0700 /var/lib/postgresql/data \
 && install -d -o 999 -g 999 -m 2777 /var/run/postgresql
COPY postgres-entrypoint /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
