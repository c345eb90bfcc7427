# Stand-in for redis:7.x-bookworm: Debian's redis-server, user redis = uid 999
# like the official image.
ARG BASE
FROM ${BASE}
RUN groupadd --system --gid 999 redis \
 && useradd --system --uid 999 --gid 999 --home-dir /data --no-create-home --shell /usr/sbin/nologin redis \
 && apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o 999 -g 999 /data
WORKDIR /data
CMD ["redis-server"]
