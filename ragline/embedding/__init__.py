"""Embedding adapters. The local one runs MiniLM through onnxruntime; AWS ones call endpoints."""
