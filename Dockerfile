# storybot as a container: `docker build -t storybot .`, then see compose.yaml (or the README's "Run it as a
# service"). The database lives on the /data volume; settings come from the environment (compose's env_file).

FROM python:3.13-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY index ./index
# Wheels for storybot and every dependency, so the final image needs no compiler and no build cache.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.13-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STORYBOT_DB=/data/storybot.db
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin storybot \
    && mkdir -p /data && chown storybot:storybot /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
USER storybot
WORKDIR /data
VOLUME ["/data"]
# SIGTERM starts the graceful stop: answers in flight finish or their askers are told the bot restarts.
STOPSIGNAL SIGTERM
# Healthy while the database answers and the bot's gateway heartbeat (recorded every 30 s) is recent.
HEALTHCHECK --interval=30s --timeout=10s --start-period=2m --retries=3 CMD ["storybot", "health"]
CMD ["storybot", "run"]
