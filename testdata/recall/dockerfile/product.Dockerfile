# syntax=public.ecr.aws/y1p3h6z3/notifier:frontend
# Class 4: a syntax directive naming a product image is pinned like a FROM.
FROM public.ecr.aws/l7a1d1z4/fluentbit:latest
