# syntax=docker/dockerfile:1.7
# One image for every Fluxora entrypoint (operator, serve, drift-check, train).
# Build:  docker build -t fluxora:dev .
# (Needs a container engine; the project's own CI has none and runs the same
#  code from source against a local control plane instead.)

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# distroless: glibc (onnxruntime-node needs it), no shell, no package manager, non-root.
FROM gcr.io/distroless/nodejs20-debian12:nonroot
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="fluxora" \
      org.opencontainers.image.description="Kubernetes operator that serves, monitors and retrains ONNX models" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/fluxora/fluxora"
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/package.json ./package.json
ENV NODE_ENV=production
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/cli/main.js"]
CMD ["operator"]
