# Stand-in for debian:12.x-slim: the minbase bootstrap itself.
ARG BASE
FROM ${BASE}
CMD ["bash"]
