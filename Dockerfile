FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir -e .
ENV WTP_DATABASE_URL=sqlite+aiosqlite:////data/wtp_oauth.db
EXPOSE 8000
CMD ["wtp-oauth", "serve", "--host", "0.0.0.0", "--port", "8000"]
