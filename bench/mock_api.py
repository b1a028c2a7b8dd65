"""A minimal JSON API for benchmarks (aiohttp server, so that its own cost stays small).

    python bench/mock_api.py PORT
"""

import sys

from aiohttp import web


async def step(request: web.Request) -> web.Response:
    body = await request.json() if request.can_read_body else {}
    number = request.match_info["number"]
    return web.json_response({"id": f"{number}-{body.get('value', 0)}", "step": int(number),
                              "key": request.headers.get("Idempotency-Key")})


def main() -> None:
    app = web.Application()
    app.router.add_post("/step/{number}", step)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
