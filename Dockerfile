# flowbus: one image for the four services; a pod's args name the service (`flowbus serve <service>`).
# Build: docker build -t flowbus:<version> .   (the Kubernetes overlays set the tag they deploy)
#
# The base is pinned to an exact Python release. To pin its digest too, look it up where you build
# (`docker buildx imagetools inspect python:3.11.14-slim-bookworm`) and pass
# --build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:<digest>.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/flowbus && python -m venv /opt/build
# Dependencies first (their layer survives source changes), exactly as locked: every hash checked,
# nothing resolved beyond the lock. The image gets the runtime lock only (no test or lint tools);
# the build backend (hatchling) comes from the full lock, into a venv that stays in this stage.
COPY requirements-runtime.lock requirements.lock /tmp/
RUN /opt/flowbus/bin/pip install --require-hashes --no-deps -r /tmp/requirements-runtime.lock
RUN /opt/build/bin/pip install --require-hashes --no-deps -r /tmp/requirements.lock
COPY pyproject.toml README.md /src/
COPY shared /src/shared
COPY services /src/services
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/wheels /src \
    && /opt/flowbus/bin/pip install --no-deps /tmp/wheels/*.whl

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 flowbus \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin flowbus
COPY --from=build /opt/flowbus /opt/flowbus
# Bytecode was compiled at install; the root filesystem is read-only in a pod.
ENV PATH=/opt/flowbus/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER 10001:10001
WORKDIR /tmp
EXPOSE 8300 8400 8500 8600
ENTRYPOINT ["flowbus", "serve"]
