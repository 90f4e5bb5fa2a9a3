# syntax=docker/dockerfile:1.7
# A multi-stage build: every place a Dockerfile names an image.
ARG BASE=public.ecr.aws/y1p3h6z3/bags_api:latest
ARG SIDECAR="public.ecr.aws/l7a1d1z4/fluentbit:0123456789abcdef0123456789abcdef01234567"
ARG REGISTRY=public.ecr.aws/y1p3h6z3
ARG TAG=latest

FROM --platform=$BUILDPLATFORM public.ecr.aws/docker/library/golang:1.26 AS build
WORKDIR /src
RUN --mount=type=cache,target=/root/.cache \
    --mount=type=bind,from=public.ecr.aws/y1p3h6z3/bag_indexer:latest,source=/app,target=/indexer \
    go build ./...

from ${BASE} as app
COPY --from=build /src/app /app
COPY --from=public.ecr.aws/y1p3h6z3/notifier:env.stage /app/notifier /bin/notifier
copy --chown=1000 --from=public.ecr.aws/l7a1d1z4/nginx_apigw@sha256:0000000000000000000000000000000000000000000000000000000000000000 /etc/nginx /etc/nginx

FROM $SIDECAR AS logs

# Variables around a managed repository: pin warns.
FROM ${REGISTRY}/bag_unpacker:${TAG} AS unpacker
FROM public.ecr.aws/y1p3h6z3/bag_verifier:$TAG

FROM \
  public.ecr.aws/y1p3h6z3/bag_tagger:latest \
  # a comment inside a continuation
  AS tagger

RUN <<EOF
FROM public.ecr.aws/y1p3h6z3/bag_tracker:latest
echo "a heredoc is a script, not an instruction"
EOF

FROM app
COPY --from=0 /app /app
COPY --from=tagger /x /x
LABEL description="built on public.ecr.aws/y1p3h6z3/bags_api:latest"
CMD ["/app"]
