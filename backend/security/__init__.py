"""What guards the door: who may come in, and what they may bring.

    auth            the admin token, login session cookies and their CSRF tokens
    login_sessions  the server-side session rows behind those cookies
    limits          request bodies: the size cap, and JSON the databases can store

These build on `backend.core` only. The FastAPI guards that apply them to routes
(`require_admin`, `require_login`, ...) are in `backend.app.deps`, with the app's other
dependencies.
"""
