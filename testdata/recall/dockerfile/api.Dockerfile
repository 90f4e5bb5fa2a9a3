# Class 3: *.Dockerfile is a Dockerfile.
FROM python:3.12-slim
COPY requirements.txt .
RUN pip install -r requirements.txt
