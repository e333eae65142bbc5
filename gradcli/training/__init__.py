"""Training loops on compiled expressions: descend (minimize), fit (gradient methods on data), lm (Levenberg-Marquardt), api (gc.fit), dataset."""
