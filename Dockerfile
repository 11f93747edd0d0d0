# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install -e . && pip install "gunicorn>=22"
COPY . .
RUN pip install -e . \
    && DEBUG=false COLLECTSTATIC=true \
       SECRET_KEY=build-only-collectstatic-key-never-used-to-sign-anything-at-run-time \
       python manage.py collectstatic --noinput

RUN useradd --create-home --uid 1000 platform && mkdir -p /data && chown platform /data /app
USER platform
EXPOSE 8000
CMD ["gunicorn", "coding_platform.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
