#!/usr/bin/env bash
docker run --rm public.ecr.aws/docker/library/sbt-scala:1.9.7 sbt test
