# syntax=docker/dockerfile:1.7
# One image for every Fluxora entrypoint (operator, serve, drift-check, train).
#
# The same image `npm run image` builds without a container engine
# (hack/image/): same base contents (distroless), user, entrypoint, command,
# environment, labels and pruned node_modules. test/integration/image.test.ts
# compares this file with that image.
#
# Build:  docker build -t ghcr.io/fluxora/fluxora:0.1.0 \
#           --build-arg REVISION="$(git rev-parse HEAD)" \
#           --build-arg CREATED="$(git log -1 --format=%cI)" .

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build
# Production node_modules as hack/image/node-modules.ts makes them: reinstall
# without devDependencies (from the cache the first npm ci filled), then drop
# onnxruntime-node's binaries for other platforms.
COPY hack/image/prune-node-modules.mjs ./hack/image/
RUN npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund \
 && node hack/image/prune-node-modules.mjs node_modules

# distroless: glibc (onnxruntime-node needs it), no shell, no package manager, non-root.
FROM gcr.io/distroless/nodejs24-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
# `npm run image` lists the Debian package and Node.js versions here; with
# Docker they are the base image's.
ARG PACKAGES=gcr.io/distroless/nodejs24-debian12:nonroot
LABEL org.opencontainers.image.title="fluxora" \
      org.opencontainers.image.description="Kubernetes-native operator that serves, monitors for drift and retrains ONNX models as custom resources" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/fluxora/fluxora" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      io.fluxora.image.packages="${PACKAGES}"
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/package.json ./package.json
ENV PATH=/nodejs/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_ENV=production \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/cli/main.js"]
CMD ["operator"]
