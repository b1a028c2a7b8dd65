"""The shell: the processes Waybill runs and what wires the features into them.

    main     the ASGI app (`backend.app.main:app`, or `create_app(settings)`): routers,
             middleware, error handlers, docs, static files, the demo services
    worker   the arq worker (`waybill worker`, `backend.app.worker.WorkerSettings`)
    cli      the `waybill` command (dev, web, worker, blueprints, orders)
    state    what the web process opens once at start and shares (database, Redis)
    deps     the FastAPI dependencies the routers take (session, state, settings) and the
             guards they sit behind (admin token, login, docs, metrics)
    models   every feature's tables imported in one place, for SQLModel's metadata and Alembic

This is the only package that knows every feature. The routers (`backend.api`,
`backend.web`) import `deps` from here; nothing in `backend.core`, `backend.security` or
the features' services imports it.
"""
