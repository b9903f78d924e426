"""The synthesis server: FastAPI routes over batched, streaming WaveNet generation.

Imported as ``wavenet_service`` (this folder is mapped to that name in pyproject.toml).
"""
