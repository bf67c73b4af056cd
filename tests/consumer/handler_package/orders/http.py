"""The orders API: ``orders.http.handler`` behind an HTTP API with IAM authorization."""
from __future__ import annotations

from typing import Any

from lambda_src.db import connection as db
from lambda_src.errors import NotFound, ServiceUnavailable
from lambda_src.log import get_logger
from lambda_src.web.messages import Request, Response
from lambda_src.web.router import HttpApp
from lambda_src.web.validation import Field, Param, ascii_int

logger = get_logger("orders")
app = HttpApp()
ORDER_ID = {"id": Param("the order's id", integer=True, minimum=1)}


@app.route("POST", "/orders", callers=("iam",), body={"item": Field(max_length=100)}, status=201,
           errors=(ServiceUnavailable,))
def create_order(request: Request) -> Response:
    """Place an order."""
    item = request.fields["item"]
    (order_id,) = db.transaction(lambda tx: tx.one("INSERT INTO orders (item) VALUES (%s) RETURNING id", (item,)),
                                 remaining_ms=db.remaining_ms(request.context))
    logger.info("order created", extra={"orderId": order_id, "headers": request.headers})
    return Response(201, {"id": order_id, "item": item, "status": "new"}, {"location": f"/orders/{order_id}"})


@app.route("GET", "/orders/{id}", callers=("iam",), params=ORDER_ID, errors=(NotFound, ServiceUnavailable))
def get_order(request: Request) -> dict[str, Any]:
    """Read an order."""
    order_id = ascii_int(request.path_params["id"])
    row = None if order_id is None else db.transaction(
        lambda tx: tx.one("SELECT id, item, status FROM orders WHERE id = %s", (order_id,)),
        remaining_ms=db.remaining_ms(request.context))
    if row is None:
        raise NotFound("No such order")
    return {"id": row[0], "item": row[1], "status": row[2]}


@app.route("GET", "/health", public=True, errors=(ServiceUnavailable,))
def health(request: Request) -> dict[str, Any]:
    """The database answers; who the function is there, and where its runtime was installed."""
    import lambda_src
    import psycopg

    (user,) = db.transaction(lambda tx: tx.one("SELECT current_user"), remaining_ms=db.remaining_ms(request.context))
    return {"status": "ok", "databaseUser": user, "runtime": lambda_src.__file__, "driver": psycopg.__file__}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app(event, context)
