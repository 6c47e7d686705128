# One image for the gateway and the three services; the command picks the process.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY openbank_cli openbank_cli
COPY openbank_kit openbank_kit
COPY gateway gateway
COPY services services
COPY sandbox_data sandbox_data
COPY loadtests loadtests
RUN pip install --no-cache-dir .
RUN useradd --create-home openbank && mkdir -p /app/var && chown openbank /app/var
USER openbank
ENV OPENBANK_VAR_DIR=/app/var OPENBANK_HOST=0.0.0.0
CMD ["openbank", "serve", "gateway"]
