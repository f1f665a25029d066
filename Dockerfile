# mist-pcap-exporter container image: Debian 12 (bookworm) build, slim runtime.
#   docker build -t mist-pcap-exporter:0.1.0 .
#   docker run --rm -p 10052:10052 -e MIST_API_TOKEN=... \
#     -v "$PWD/my-config.yaml:/etc/mist-pcap-exporter/config.yaml:ro" \
#     mist-pcap-exporter:0.1.0 --config.file=/etc/mist-pcap-exporter/config.yaml
# The image also holds the simulator: --entrypoint mist_cloud_sim (see deploy/compose/).

FROM debian:bookworm-slim AS build

RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       prometheus-cpp-dev libcpp-httplib-dev rapidjson-dev libyaml-cpp-dev libspdlog-dev \
       libboost-dev libssl-dev libcrypt-dev cmake ninja-build g++ pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . /src

RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
       -DMPE_BUILD_TESTS=OFF -DMPE_BUILD_BENCH=OFF \
    && cmake --build /build --target mist_pcap_exporter mist_cloud_sim \
    && strip /build/mist_pcap_exporter /build/mist_cloud_sim


FROM debian:bookworm-slim

LABEL org.opencontainers.image.title="mist-pcap-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Juniper Mist packet captures" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.source="https://github.com/mist-pcap-exporter/mist-pcap-exporter"

# Runtime shared libraries only; curl serves the HEALTHCHECK.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
       libprometheus-cpp-core1.0 libcpp-httplib0.11 libyaml-cpp0.7 libspdlog1.10 libfmt9 libssl3 \
       ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /build/mist_pcap_exporter /build/mist_cloud_sim /usr/local/bin/

# The default --config.file is config/mist_pcap_exporter.yaml, relative to this directory.
WORKDIR /opt/mist-pcap-exporter
COPY config/ /opt/mist-pcap-exporter/config/

USER 65532:65532
EXPOSE 10052

# /healthz answers as soon as the process listens, so no --start-period is needed (and
# dockerfilelint 1.8 mis-parses that flag).
HEALTHCHECK --interval=30s --timeout=3s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:10052/healthz"]

ENTRYPOINT ["/usr/local/bin/mist_pcap_exporter"]
