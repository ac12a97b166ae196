# Multi-stage build: a static binary (pure-Go SQLite, no cgo) on a distroless
# base, running as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/motcua ./cmd/motcua && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/motcua /usr/local/bin/motcua
# The data folder belongs to the non-root user, so a named volume mounted here does too.
COPY --from=build --chown=nonroot:nonroot /out/data /var/lib/motcua
ENV HTTP_ADDR=:8080 DATA_DIR=/var/lib/motcua
VOLUME ["/var/lib/motcua"]
EXPOSE 8080
USER nonroot:nonroot
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD ["/usr/local/bin/motcua", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/motcua"]
