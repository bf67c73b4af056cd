"""The example users service, built on the runtime exactly as another team's package would be.

It is bundled as a package of its own, ``example`` (``PythonBundle(source_dir=lambda_src/example)``),
and its ``requirements.txt`` installs the runtime from ``..`` like any dependency: inside the bundle
there is no ``lambda_src.example``, so it imports its own modules relatively and the runtime as
``lambda_src``. In this checkout it is also importable as ``lambda_src.example`` (the tests, ``make dev``).

Entry points (Lambda handler strings):

* ``example.http.handler``: users CRUD and ``/health``
* ``example.worker.handler``: the ``user.created`` events (audit row, WebSocket announcement)
* ``example.schedule.handler``: the daily maintenance job
* ``example.websocket.handler``: ``$connect``/``$disconnect`` and the channel actions
* ``lambda_src.migrate.handler``: the runtime's runner, with ``migrations/`` as ``DB_MIGRATIONS_DIR``;
  locally ``python -m example.migrate`` (``python -m lambda_src.example.migrate`` in this checkout)
"""
