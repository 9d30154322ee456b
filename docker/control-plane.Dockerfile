# The control plane's image: FROM scratch (no registry is needed or used)
# around the static binaries scripts/build-images stages. Missing? Run
# scripts/build-images first.
FROM scratch
COPY target/built-by-scripts-build-images/control-plane target/built-by-scripts-build-images/data-node /
ENV FERRO_DATA_NODE_BIN=/data-node
ENTRYPOINT ["/control-plane"]
