"""The background worker: named periodic tasks, each a SQL function called in short transactions as
postcart_worker. It runs beside the web app in `postcart up` and alone as `postcart worker`; tasks.py is
the one list of what it does."""

from .runner import Worker
from .tasks import TASKS, Task

__all__ = ["TASKS", "Task", "Worker"]
