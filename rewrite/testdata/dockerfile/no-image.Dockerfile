# escape=\
ARG X=1
FROM --platform=linux/amd64
