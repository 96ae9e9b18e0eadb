"""FastAPI app: the JSON API over the shipped models and the HTML pages that draw it."""
