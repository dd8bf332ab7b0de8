"""The `rag` command (cli/main.py): the library, the page and the eval harness behind one command line."""
