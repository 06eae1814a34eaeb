# graphwright: the app (Gradio on :7860) in a slim image that runs as UID 1000, like a Hugging Face
# Docker Space. Data (run history, checkpoints, MLflow store) lives in the /data volume.
#
#   docker build -t graphwright .
#   docker run -p 7860:7860 -v graphwright-data:/data graphwright
#
# Offline (no image registry): scripts/build-base-image.sh makes a local Debian bookworm Python 3.11
# base; pass it with --build-arg BASE_IMAGE=graphwright-base:bookworm-py311.
# Behind a TLS-intercepting proxy, pass its CA certificate(s) as PEM text in EXTRA_CA_CERTS; pip
# index settings (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_TRUSTED_HOST) are build arguments too.
# None of them reach the final image.

ARG BASE_IMAGE=python:3.11-slim

# ---- builder: the pinned requirements in a venv ---------------------------------------------
FROM ${BASE_IMAGE} AS builder
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_TRUSTED_HOST
ARG EXTRA_CA_CERTS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DEFAULT_TIMEOUT=120
COPY requirements*.txt /build/
# requirements.txt is a complete freeze: --no-deps installs exactly the pins, `pip check` proves they
# are consistent, so nothing unpinned can slip in. Bytecode is compiled on all cores (pip would do it
# on one). This layer is the same for the app and the cluster image (REQUIREMENTS is declared below
# it), so building both costs one install.
RUN set -eu; \
    if [ -n "$EXTRA_CA_CERTS" ]; then \
        bundle=/etc/ssl/certs/ca-certificates.crt; \
        { cat "$bundle" 2>/dev/null || true; printf '%s\n' "$EXTRA_CA_CERTS"; } > /build/ca.pem; \
    fi; \
    [ -s /build/ca.pem ] && export PIP_CERT=/build/ca.pem; \
    python3 -m venv /opt/venv; \
    /opt/venv/bin/python -m pip install --no-deps --no-compile --progress-bar off -r /build/requirements.txt; \
    site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))'); \
    /opt/venv/bin/python -m compileall -q -j 0 "$site" >/dev/null || true
# requirements-cluster.txt for the cluster image (workers, app replicas, the Temporal dev server's
# binary): its extra pins on top. Then `pip check`, and pip itself and the test suites pandas and
# numpy ship (~65 MB) are left out.
ARG REQUIREMENTS=requirements.txt
RUN set -eu; \
    [ -s /build/ca.pem ] && export PIP_CERT=/build/ca.pem; \
    site=$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))'); \
    if [ "$REQUIREMENTS" != requirements.txt ]; then \
        /opt/venv/bin/python -m pip install --no-deps --no-compile --progress-bar off -r "/build/$REQUIREMENTS"; \
        /opt/venv/bin/python -m compileall -q -j 0 "$site" >/dev/null || true; \
    fi; \
    /opt/venv/bin/python -m pip check; \
    /opt/venv/bin/python -m pip uninstall -y -q pip setuptools; \
    rm -rf "$site/pandas/tests" "$site"/numpy/*/tests "$site"/numpy/_core/tests /build

# ---- runtime: base + venv + the app's own packages ---------------------------------------------
FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOME=/home/app \
    GRAPHWRIGHT_DATA_DIR=/data \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False \
    LITELLM_LOCAL_MODEL_COST_MAP=True
RUN useradd --uid 1000 --user-group --create-home --home-dir /home/app --shell /usr/sbin/nologin app \
    && mkdir -p /data \
    && chown app:app /data
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
# Code is owned by root and read-only to the app user; only /data (and $HOME) are writable.
COPY app.py ./
COPY schemas ./schemas
COPY orchestrator ./orchestrator
COPY history ./history
COPY cluster ./cluster
COPY chatbot ./chatbot
COPY ui ./ui
COPY graphwright ./graphwright
COPY examples ./examples
USER 1000:1000
VOLUME ["/data"]
EXPOSE 7860
# The app's /healthz, probed with the stdlib (the image has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as r; r.urlopen('http://127.0.0.1:7860/healthz', timeout=4)"]
CMD ["python", "app.py"]
