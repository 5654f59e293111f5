"""Knowledge base: parsing, chunking, Korean-aware keyword search, embeddings, stores, retrieval."""
