"""The example users service, built on the runtime exactly as another team's package would be.

Entry points (Lambda handler strings):

* ``lambda_src.example.http.handler``: users CRUD and ``/health``
* ``lambda_src.example.worker.handler``: the ``user.created`` events (audit row, WebSocket announcement)
* ``lambda_src.example.schedule.handler``: the daily maintenance job
* ``lambda_src.example.websocket.handler``: ``$connect``/``$disconnect`` and the channel actions
* ``lambda_src.example.migrate.handler``: its migrations (``migrations/``); also ``python -m lambda_src.example.migrate``
"""
