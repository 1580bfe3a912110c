# Multi-stage build: dependencies are compiled in their own cached layer, the runtime image is
# small and runs as a non-root user with the store on a volume.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependency layer: build against an empty crate so this layer is reused until Cargo.toml/lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src && echo 'fn main() {}' > src/main.rs && touch src/lib.rs \
    && cargo build --release --locked --bin syndic \
    && rm -rf src target/release/.fingerprint/syndic-* target/release/deps/syndic-* target/release/deps/libsyndic-*
COPY src ./src
COPY bot.example.toml ./
RUN cargo build --release --locked --bin syndic

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data syndic && mkdir -p /data /config \
    && chown syndic:syndic /data && chmod 700 /data
COPY --from=build /src/target/release/syndic /usr/local/bin/syndic
COPY bot.example.toml /config/bot.example.toml
USER syndic
WORKDIR /data
# bot.toml goes in /config (read-only is fine: the bot writes nothing there); set store_path = "/data"
# in it. /data belongs to the bot's user and holds all it writes: the Matrix store, session.json, its
# state and, by default, the recovery key (/data/recovery-key, mode 0600).
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/syndic"]
CMD ["run", "--config", "/config/bot.toml"]
