"""The SQLite tables of the index folder (store.py). Chunk row ids are never reused (AUTOINCREMENT): FAISS and
tantivy refer to chunks by them."""

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE documents (
  doc_id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT NOT NULL, outlet TEXT NOT NULL, url TEXT NOT NULL,
  source_path TEXT NOT NULL, content_hash TEXT NOT NULL, chunks INTEGER NOT NULL, chars INTEGER NOT NULL,
  text TEXT NOT NULL, extra TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX documents_outlet ON documents (lower(outlet));
CREATE INDEX documents_date ON documents (date);
CREATE TABLE chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, chunk_id TEXT NOT NULL UNIQUE, doc_id TEXT NOT NULL, ord INTEGER NOT NULL,
  text TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, sentences TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX chunks_doc ON chunks (doc_id, ord);
CREATE TABLE fulltext_todo (id INTEGER PRIMARY KEY);
CREATE TABLE dense_stale (id INTEGER PRIMARY KEY);
"""
