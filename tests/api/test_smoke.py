async def test_health_and_empty_list(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/api/blueprints")).json() == {"data": [], "next_cursor": None}
