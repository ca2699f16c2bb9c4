# The postcart app image: used by docker-compose.yml against the official postgres image.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY migrations ./migrations
COPY sql ./sql
# Editable, so `postcart migrate` finds migrations/ and sql/ beside the package.
RUN pip install --no-cache-dir -e . && useradd --system postcart
USER postcart
EXPOSE 8080
CMD ["sh", "-c", "postcart migrate && exec postcart serve --host 0.0.0.0 --port 8080"]
