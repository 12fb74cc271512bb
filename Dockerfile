# kpirules serve, ready for Cloud Run: listens on $PORT, runs as a non-root user, and holds
# only the wheel and its dependencies (no compiler, no build tools, no repository).
#
#   docker build -t kpirules .
#   docker run -p 8080:8080 -e KPIRULES_SERVE_TOKEN=secret kpirules
#
# docs/serve.md has the Cloud Run deployment and the IAM steps.

FROM python:3.12-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[serve]"

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8080
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "kpirules[serve]" \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /srv --shell /usr/sbin/nologin kpirules
USER 10001
WORKDIR /srv
EXPOSE 8080
# Cloud Run sets PORT; `kpirules serve` reads it. 0.0.0.0: the container's network.
# Authentication comes from the environment: KPIRULES_SERVE_AUDIENCE and
# KPIRULES_SERVE_ALLOW for the add-on's ID tokens, or KPIRULES_SERVE_TOKEN.
CMD ["kpirules", "serve", "--host", "0.0.0.0"]
