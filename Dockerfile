# One image for every PIM service; the command picks the service (`pim ingest`, `pim relay`, …).
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 UV_PROJECT_ENVIRONMENT=/opt/pim
# Pango and a font with Vietnamese diacritics: WeasyPrint renders the board pack's PDF with them
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY shared shared
COPY services services
COPY pim pim
COPY infra infra
# Bytecode compiled into the image: the services run as `nobody`, who could not write it, and would compile
# every module at every start
RUN uv sync --frozen --no-dev --compile-bytecode && /opt/pim/bin/python -m compileall -q shared services pim
# where `pim init` writes Alertmanager's config: a named volume mounted here takes this ownership
RUN mkdir -p /var/lib/pim/alertmanager && chown nobody /var/lib/pim/alertmanager
ENV PATH=/opt/pim/bin:$PATH
USER nobody
ENTRYPOINT ["pim"]
