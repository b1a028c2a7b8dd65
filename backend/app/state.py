"""What the web process opens once at start and shares: database, Redis, settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.core import db
from backend.core.config import Settings
from backend.engine import expressions, functions


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: ArqRedis | None = None

    @classmethod
    @asynccontextmanager
    async def open(cls, settings: Settings) -> AsyncIterator[AppState]:
        functions.load_modules(settings.function_modules)
        expressions.refresh_functions()
        engine = db.make_engine(settings.resolved_database_url)
        await db.upgrade(engine)
        state = cls(settings, engine, db.make_sessionmaker(engine))
        try:
            if settings.redis_url:
                from backend.core.queue import connect_redis

                state.redis = await connect_redis(settings.redis_url)
            if settings.demo_url:
                from backend.variables.service import put_variable

                async with state.sessions() as session:
                    await put_variable(session=session, name="demo_url", value=settings.demo_url)
            if settings.load_examples:
                from backend.blueprints.files import load_examples_once

                async with state.sessions() as session:
                    await load_examples_once(session=session, settings=settings)
            yield state
        finally:
            if state.redis is not None:
                await state.redis.aclose()
            await engine.dispose()
