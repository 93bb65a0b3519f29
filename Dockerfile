# syntax=docker/dockerfile:1
# Build: a static binary (no cgo) stamped with its version, commit and date:
#   docker build --build-arg VERSION=1.4.0 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t healthsync .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${BUILD_DATE}" \
    -o /out/healthsync ./cmd/healthsync
# The store's directory, owned by the runtime user (distroless nonroot is
# 65532): a new named volume mounted at /data copies this ownership, so the
# non-root process can create the bbolt file there.
RUN mkdir -p /out/data

# Runtime: distroless static with CA certificates, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/healthsync /usr/local/bin/healthsync
COPY --from=build --chown=65532:65532 /out/data /data
# Inside a container the loopback default (127.0.0.1:8080, kept for the bare
# binary) would be unreachable from outside: `run` and `healthcheck` take
# these over the file's server.listen and server.metrics_listen.
ENV HEALTHSYNC_LISTEN=0.0.0.0:8080 \
    HEALTHSYNC_METRICS_LISTEN=0.0.0.0:9090 \
    HEALTHSYNC_CONFIG=/etc/healthsync/healthsync.yaml
# The bbolt store lives on a volume; point store.path at /data/healthsync.db.
VOLUME ["/data"]
WORKDIR /data
# 8080: webhooks, /healthz, /readyz, /api, /report. 9090: /metrics without a token.
EXPOSE 8080 9090
USER nonroot:nonroot
# healthcheck probes /healthz on $HEALTHSYNC_LISTEN, the port the daemon serves.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/healthsync", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/healthsync"]
CMD ["run"]
