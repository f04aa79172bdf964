# syntax=docker/dockerfile:1
# auth0-domain-operator image: build with the Rust toolchain, run on distroless (no shell, no
# package manager) as the non-root user 65532. The tag is Cargo.toml's version (docs/releasing.md):
#   VERSION=$(cargo pkgid | sed 's/.*@//')
#   docker build --build-arg VERSION=$VERSION --build-arg GIT_SHA=$(git rev-parse HEAD) \
#     -t ghcr.io/auth0-domain-operator/auth0-domain-operator:$VERSION .
# Not built in this repository's CI (no container engine there); see deploy/README.md.

FROM docker.io/library/rust:1-bookworm AS build
WORKDIR /src
# The whole workspace: Cargo needs every member's manifest and sources to load the workspace,
# even though only the operator binary is built.
COPY . .
# `auth0-domain-operator version` prints it: docker build --build-arg GIT_SHA=$(git rev-parse HEAD) .
ARG GIT_SHA=unknown
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    AUTH0_DOMAIN_OPERATOR_GIT_SHA="$GIT_SHA" cargo build --release --locked --bin auth0-domain-operator \
 && install -D -m 0755 target/release/auth0-domain-operator /out/auth0-domain-operator

# glibc and CA certificates, nothing else; the `nonroot` tag runs as 65532:65532.
FROM gcr.io/distroless/cc-debian12:nonroot
# The release's version (Cargo.toml's), for `docker inspect` and registries.
ARG VERSION=dev
LABEL org.opencontainers.image.title="auth0-domain-operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/auth0-domain-operator /auth0-domain-operator
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/auth0-domain-operator"]
CMD ["run"]
