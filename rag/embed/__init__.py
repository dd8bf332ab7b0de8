"""Embedding: chunk and question texts become unit vectors (sentence-transformers on torch or OpenVINO, or Ray Data)."""
