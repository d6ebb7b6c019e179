# The classroom image: the server, the page, Fashion-MNIST's files. PyPI's torch wheel carries CUDA, so
# `docker compose up` uses the GPU where the host grants one (see docker-compose.yml) and the CPU elsewhere.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dataset-fashion-mnist \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt pyproject.toml ./
RUN pip install --no-cache-dir -r requirements.txt
COPY backend backend
COPY frontend frontend
COPY examples examples
RUN pip install --no-cache-dir --no-deps -e .
ENV NNDOJO_HOST=0.0.0.0 NNDOJO_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
# Ray keeps its object store in /dev/shm: give the container enough (docker-compose.yml sets shm_size).
CMD ["nndojo", "serve"]
