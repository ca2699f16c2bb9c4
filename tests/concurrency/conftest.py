from tests.http.conftest import server  # noqa: F401  - the same real server for the races
from tests.workers.conftest import app_url, tag  # noqa: F401  - the worker's URL and row tags for its races
