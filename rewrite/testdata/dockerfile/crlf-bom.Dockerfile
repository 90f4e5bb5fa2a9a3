FROM public.ecr.aws/y1p3h6z3/ingests_api:latest
RUN echo hi \
	&& echo there
FROM	public.ecr.aws/y1p3h6z3/ingests_worker:latest