"""The YAML language server used by tests/unit/test_language_server.py (install: npm ci --prefix tests/lsp)."""
