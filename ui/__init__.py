"""The web page over the rag library: ``ui.app.build_app(engine)`` builds it, ``ui.app.serve`` runs it."""
