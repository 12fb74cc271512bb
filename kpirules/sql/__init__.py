"""SQL generation: the plan compiled to one query in any dialect sqlglot speaks."""
