# The classroom image: the server in classroom mode, the page, Fashion-MNIST's files; runs as a non-root user.
#
# Build arguments (docker-compose.yml passes them on from the environment):
#   BASE_IMAGE        any Debian-based image with Python 3.11 (default: the official python image). A base without
#                     /usr/share/datasets/fashion-mnist gets Debian's dataset-fashion-mnist package through apt.
#   PIP_INSTALL_ARGS  extra pip arguments for the requirements, e.g. "--no-index --find-links http://host/wheels/"
#                     for an offline build from a wheel folder. Default: PyPI, whose torch wheel carries CUDA, so
#                     docker-compose.gpu.yml can give the container the GPU.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
ARG PIP_INSTALL_ARGS=""

RUN if [ ! -d /usr/share/datasets/fashion-mnist ]; then \
      apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dataset-fashion-mnist \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && useradd --uid 10001 --home-dir /home/nndojo --create-home --shell /usr/sbin/nologin nndojo \
 && mkdir -p /data && chown nndojo:nndojo /data

# A venv works the same on the official image and on Debian's own python3 (which refuses a system-wide pip install).
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt ./
RUN python3 -m venv /opt/venv \
 && pip install ${PIP_INSTALL_ARGS} -r requirements.txt "setuptools>=68"
# The source after the requirements: a code change rebuilds from here, reusing the installed requirements' layer.
COPY pyproject.toml ./
COPY backend backend
COPY frontend frontend
COPY examples examples
RUN pip install --no-build-isolation --no-deps -e . && nndojo --version

# The image's settings: classroom mode on all interfaces, data in the named volume. compose's environment adds to them.
ENV NNDOJO_MODE=classroom NNDOJO_HOST=0.0.0.0 NNDOJO_PORT=8000 NNDOJO_DATA_DIR=/data PYTHONUNBUFFERED=1
USER nndojo
VOLUME /data
EXPOSE 8000
# No curl in the image: Python asks /api/health, which answers once a training slot is up.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/health' % os.environ.get('NNDOJO_PORT', '8000'), timeout=8)"
# Ray keeps its object store in /dev/shm: give the container enough (docker-compose.yml sets shm_size).
CMD ["nndojo", "serve"]
