"""Generators: extractive (always available), OpenAI-compatible chat, and AWS models."""
