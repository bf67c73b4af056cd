"""The example service: users CRUD on PostgreSQL, with cursor pagination and a created-user event.

Who gets what: a user record holds a person's email and bio, so every ``/users`` route serves IAM
callers only, the services and operators whose IAM policy the account lets call the API (the
example's API is IAM-authorized). Without an authenticated caller a route answers 401 before it
reads anything; an end user's token (a JWT or Lambda authorizer in front) gets 403, because nothing
in a record says whose it is: serving such callers takes an owner column and a filter on the
token's ``sub``. ``GET /health`` is public: it reports the database's state and nothing else.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it costs milliseconds of cold start
if TYPE_CHECKING:
    from typing import Any

from lambda_src.db import connection as db
from lambda_src.errors import BadRequest, Conflict, NotFound, ServiceUnavailable, excerpt
from lambda_src.json_codec import encode
from lambda_src.web.messages import Request, Response
from lambda_src.web.router import HttpApp
from lambda_src.web.validation import Field, Param, ascii_int

from . import events_out

FIELDS = {"email": Field(email=True, max_length=254), "name": Field(max_length=200),
          "bio": Field(required=False, min_length=0, max_length=2000)}
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
#: What the routes answer, as the API document shows it (JSON schema).
TIMESTAMP = {"type": "string", "format": "date-time", "example": "2026-11-22T09:30:00.000000Z"}
USER = {"type": "object", "required": ["id", "email", "name", "bio", "createdAt", "updatedAt"],
        "additionalProperties": False,
        "properties": {"id": {"type": "integer", "minimum": 1}, "email": {"type": "string", "format": "email"},
                       "name": {"type": "string"}, "bio": {"type": "string"},
                       "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP}}
USER_PAGE = {"type": "object", "required": ["items", "nextCursor"], "additionalProperties": False,
             "properties": {"items": {"type": "array", "items": USER},
                            "nextCursor": {"type": "string", "nullable": True,
                                           "description": "pass as cursor for the next page; null on the last"}}}
HEALTH = {"type": "object", "required": ["status", "database"], "additionalProperties": False,
          "properties": {"status": {"type": "string", "enum": ["ok"]}, "database": {"type": "string", "enum": ["ok"]}}}
USER_ID = {"id": Param("the user's id", integer=True, minimum=1)}
#: Every route reads or writes the database: it may answer 503 when the database does not.
DATABASE = (ServiceUnavailable,)
#: The callers the users routes serve (see the module docstring).
USERS_CALLERS = ("iam",)
#: Timestamps leave the database as fixed-width ISO 8601 UTC text (``2026-11-22T09:30:00.000000Z``):
#: one format for every row (``datetime.isoformat`` drops zero microseconds and follows the session
#: time zone), and no datetime built and formatted per value on the request path.
ISO_8601 = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
_COLUMNS = (f"id, email, name, bio, to_char(created_at AT TIME ZONE 'UTC', '{ISO_8601}'), "
            f"to_char(updated_at AT TIME ZONE 'UTC', '{ISO_8601}')")


def _user(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"id": row[0], "email": row[1], "name": row[2], "bio": row[3], "createdAt": row[4], "updatedAt": row[5]}


def _user_id(request: Request) -> int:
    raw = request.path_params["id"]
    user_id = ascii_int(raw)
    if user_id is None:
        raise NotFound(f"No user {excerpt(raw)}")
    return user_id


def _encode_cursor(last_id: int) -> str:
    from base64 import urlsafe_b64encode

    return urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    from base64 import urlsafe_b64decode

    try:
        last_id = ascii_int(urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        if last_id is None:
            raise ValueError
        return last_id
    except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
        raise BadRequest("Invalid cursor") from None


def _unique_email(work: Any) -> Any:
    import psycopg.errors

    try:
        return work()
    except psycopg.errors.UniqueViolation:
        raise Conflict("A user with this email already exists") from None


def register(app: HttpApp) -> None:
    """Add the users routes (and ``/health``) to ``app``."""

    @app.route("GET", "/health", public=True, errors=DATABASE, response=HEALTH)
    def health(request: Request) -> dict[str, Any]:
        """The database answers: a public liveness check (and the pre-traffic hook's smoke request)."""
        db.transaction(lambda tx: tx.one("SELECT 1"), remaining_ms=db.remaining_ms(request.context))
        return {"status": "ok", "database": "ok"}

    @app.route("POST", "/users", callers=USERS_CALLERS, body=FIELDS, errors=(Conflict, *DATABASE), status=201,
               response=USER)
    def create_user(request: Request) -> Response:
        """Create a user; a user.created event follows."""
        fields = request.fields

        def work(tx: db.Transaction) -> tuple[dict[str, Any], str]:
            user = _user(tx.one(f"INSERT INTO users (email, name, bio) VALUES (%s, %s, %s) RETURNING {_COLUMNS}",
                                (fields["email"], fields["name"], fields.get("bio", ""))))
            user_json = encode(user)  # serialised once: for the event and for the response
            events_out.record(tx, "user.created", '{"user":' + user_json + "}")
            return user, user_json

        user, user_json = _unique_email(lambda: db.transaction(work, remaining_ms=db.remaining_ms(request.context)))
        _publish_quietly(user, request.context)
        return Response(201, user_json, {"content-type": "application/json", "location": f"/users/{user['id']}"})

    @app.route("GET", "/users", callers=USERS_CALLERS, errors=(BadRequest, *DATABASE), response=USER_PAGE, query={
        "limit": Param("users per page", integer=True, minimum=1, maximum=MAX_LIMIT, default=DEFAULT_LIMIT),
        "cursor": Param("nextCursor of the previous page")})
    def list_users(request: Request) -> dict[str, Any]:
        """List users in id order, a page at a time."""
        limit = ascii_int(request.query_value("limit", str(DEFAULT_LIMIT)) or "", max_digits=3)
        if limit is None or not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be an integer 1–{MAX_LIMIT}")
        cursor = request.query_value("cursor")
        after = _decode_cursor(cursor) if cursor else 0
        rows = db.transaction(lambda tx: tx.all(f"SELECT {_COLUMNS} FROM users WHERE id > %s ORDER BY id LIMIT %s",
                                                (after, limit + 1)), remaining_ms=db.remaining_ms(request.context))
        items = [_user(row) for row in rows[:limit]]
        return {"items": items, "nextCursor": _encode_cursor(items[-1]["id"]) if len(rows) > limit else None}

    @app.route("GET", "/users/{id}", callers=USERS_CALLERS, params=USER_ID, errors=(NotFound, *DATABASE), response=USER)
    def get_user(request: Request) -> dict[str, Any]:
        """Read one user."""
        user_id = _user_id(request)
        row = db.transaction(lambda tx: tx.one(f"SELECT {_COLUMNS} FROM users WHERE id = %s", (user_id,)),
                             remaining_ms=db.remaining_ms(request.context))
        if row is None:
            raise NotFound(f"No user {user_id}")
        return _user(row)

    def update(request: Request, *, partial: bool) -> dict[str, Any]:
        user_id = _user_id(request)
        fields = dict(request.fields or {})
        if not partial:
            fields.setdefault("bio", "")  # PUT replaces the whole user
        assignments = ", ".join(f"{name} = %s" for name in fields)  # names come from FIELDS only
        row = _unique_email(lambda: db.transaction(
            lambda tx: tx.one(f"UPDATE users SET {assignments}, updated_at = now() WHERE id = %s RETURNING {_COLUMNS}",
                              (*fields.values(), user_id)), remaining_ms=db.remaining_ms(request.context)))
        if row is None:
            raise NotFound(f"No user {user_id}")
        return _user(row)

    changes = {"callers": USERS_CALLERS, "params": USER_ID, "errors": (NotFound, Conflict, *DATABASE), "response": USER}
    app.route("PUT", "/users/{id}", body=FIELDS, summary="Replace a user (an omitted bio becomes empty)",
              **changes)(lambda request: update(request, partial=False))
    app.route("PATCH", "/users/{id}", body=FIELDS, partial=True, summary="Change some fields of a user",
              **changes)(lambda request: update(request, partial=True))

    @app.route("DELETE", "/users/{id}", callers=USERS_CALLERS, params=USER_ID, errors=(NotFound, *DATABASE), status=204)
    def delete_user(request: Request) -> Response:
        """Delete a user."""
        user_id = _user_id(request)
        row = db.transaction(lambda tx: tx.one("DELETE FROM users WHERE id = %s RETURNING id", (user_id,)),
                             remaining_ms=db.remaining_ms(request.context))
        if row is None:
            raise NotFound(f"No user {user_id}")
        return Response(204)


def _publish_quietly(user: dict[str, Any], context: Any) -> None:
    """Try to send outbox events now (failures are left to the scheduled sweep).

    With a queue, the worker announces the user on the ``users`` WebSocket channel; without one
    (local development) the API announces it itself.
    """
    from lambda_src import config
    from lambda_src.log import logger

    try:
        if config.load().queue_url:
            events_out.publish_pending(db.runner(context), limit=10)
        else:
            from .announce import announce_user_created

            announce_user_created(user)
    except Exception:  # noqa: BLE001 - the user was created; publishing is retried by the schedule
        logger.warning("publishing deferred to the scheduled sweep", exc_info=True)
