"""Config: safe YAML loading with positions, pydantic models, JSON Schema."""
