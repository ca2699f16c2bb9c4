from tests.http.conftest import server  # noqa: F401  - the same real server for the races
