# syntax=docker/dockerfile:1
# Build: a static binary (no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/healthsync ./cmd/healthsync

# Runtime: distroless static with CA certificates, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/healthsync /usr/local/bin/healthsync
# The bbolt store lives on a volume; point store.path at /data/healthsync.db.
VOLUME ["/data"]
WORKDIR /data
# HTTP server: webhooks, /healthz, /readyz, /metrics, /api, /report.
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/healthsync", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/healthsync"]
CMD ["run", "--config", "/etc/healthsync/healthsync.yaml"]
