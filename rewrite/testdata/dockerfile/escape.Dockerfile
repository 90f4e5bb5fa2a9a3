# escape=`
FROM `
  public.ecr.aws/y1p3h6z3/file_finder:latest
RUN dir c:\ `
    && echo done
