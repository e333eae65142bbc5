"""Training loops on compiled expressions: descend (minimize), fit (least squares on CSV data), dataset."""
