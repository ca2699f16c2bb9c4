"""`make privilege-matrix`: writes tests/sql/36_privilege_matrix.sql from a freshly migrated throwaway cluster:
for every role the project defines and every schema, table, view, sequence and function in the project's
schemas, the exact privileges the role has (pgTAP's schema_privs_are, table_privs_are, sequence_privs_are,
function_privs_are), the column grants of every table that has any, every table's policies with their
roles and commands, and the complete list of objects, so that a new object or grant fails CI until the
file says it. Run it once, then review the diff like code: the file is the reviewed statement of who may
do what (docs/roles-and-policies.md)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import psycopg

from postcart.embedded import EmbeddedCluster
from postcart.migrate import migrate

OUT = Path(__file__).parent / "sql" / "36_privilege_matrix.sql"
SCHEMAS = ("api", "shop", "auth", "audit", "integration", "reporting")
# Every role the project defines except its owner (which owns everything; tests/sql/07 checks that) and the
# per-member staff roles (made at run time; each is postcart_staff plus permission roles, checked here).
ROLES = ("postcart_authenticator", "postcart_anon", "postcart_customer", "postcart_staff", "catalog_manager",
         "inventory_manager", "order_manager", "support_agent", "store_admin", "postcart_analyst", "postcart_dba",
         "postcart_worker", "postcart_gateway", "postcart_carrier")
TABLE_PRIVS = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def array(values: list[str], kind: str = "name") -> str:
    return f"ARRAY[{', '.join(lit(v) for v in values)}]::{kind}[]" if values else f"ARRAY[]::{kind}[]"


def generate(conn: psycopg.Connection) -> str:
    schemas = [s for (s,) in conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s) ORDER BY nspname", [list(SCHEMAS)])]
    relations = conn.execute(
        "SELECT n.nspname, c.relname, c.relkind FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND NOT c.relispartition"
        " ORDER BY 1, 2", [schemas]).fetchall()
    functions = conn.execute(
        "SELECT n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),"
        " ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a (t, i)"
        "       ORDER BY a.i), p.oid::regprocedure::text"
        " FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace"
        " WHERE n.nspname = ANY(%s) AND p.prokind IN ('f', 'p', 'a', 'w')"
        " AND NOT EXISTS (SELECT FROM pg_depend AS d WHERE d.objid = p.oid AND d.deptype = 'e')"
        " ORDER BY 1, 2, 3", [schemas]).fetchall()

    def has(role: str, check: str, obj: str, privs: tuple[str, ...]) -> list[str]:
        return [p for p in privs if conn.execute(f"SELECT {check}(%s, %s, %s)", [role, obj, p]).fetchone()[0]]

    tests: list[str] = []
    tests.append(
        "SELECT set_eq(\n    $$SELECT n.nspname || '.' || c.relname FROM pg_class AS c JOIN pg_namespace AS n"
        " ON n.oid = c.relnamespace\n      WHERE n.nspname = ANY(" + array(schemas, "text") + ") AND c.relkind IN ('r', 'p',"
        " 'v', 'm', 'f', 'S') AND NOT c.relispartition$$,\n    "
        + array([f"{s}.{r}" for s, r, _ in relations], "text") + ",\n    'the matrix lists every table, view and sequence'\n);")
    tests.append(
        "SELECT set_eq(\n    $$SELECT p.oid::regprocedure::text FROM pg_proc AS p JOIN pg_namespace AS n"
        " ON n.oid = p.pronamespace\n      WHERE n.nspname = ANY(" + array(schemas, "text") + ") AND p.prokind IN ('f', 'p',"
        " 'a', 'w')\n      AND NOT EXISTS (SELECT FROM pg_depend AS d WHERE d.objid = p.oid AND d.deptype = 'e')$$,\n    "
        + array([f[4] for f in functions], "text") + ",\n    'the matrix lists every function'\n);")

    tests.append("\n-- == schemas ==")
    for schema in schemas:
        for role in ROLES:
            privs = has(role, "has_schema_privilege", schema, ("USAGE", "CREATE"))
            tests.append(f"SELECT schema_privs_are({lit(schema)}, {lit(role)}, {array(privs)});")

    tests.append("\n-- == tables, views and sequences ==")
    for schema, name, kind in relations:
        qualified = f'"{schema}"."{name}"'
        tests.append(f"-- {schema}.{name}")
        for role in ROLES:
            if kind == "S":
                privs = has(role, "has_sequence_privilege", qualified, ("USAGE", "SELECT", "UPDATE"))
                tests.append(f"SELECT sequence_privs_are({lit(schema)}, {lit(name)}, {lit(role)}, {array(privs)});")
            else:
                privs = has(role, "has_table_privilege", qualified, TABLE_PRIVS)
                tests.append(f"SELECT table_privs_are({lit(schema)}, {lit(name)}, {lit(role)}, {array(privs)});")
        if kind == "S":
            continue
        columns = [c for (c,) in conn.execute(
            "SELECT a.attname || ' ' || r.rolname || ' ' || x.privilege_type FROM pg_attribute AS a"
            " CROSS JOIN LATERAL aclexplode(a.attacl) AS x JOIN pg_roles AS r ON r.oid = x.grantee"
            " WHERE a.attrelid = %s::regclass AND a.attacl IS NOT NULL ORDER BY 1", [qualified])]
        if columns:
            tests.append(
                "SELECT set_eq(\n    $$SELECT a.attname || ' ' || r.rolname || ' ' || x.privilege_type FROM pg_attribute AS a"
                " CROSS JOIN LATERAL aclexplode(a.attacl) AS x JOIN pg_roles AS r ON r.oid = x.grantee\n"
                f"      WHERE a.attrelid = {lit(qualified)}::regclass AND a.attacl IS NOT NULL$$,\n    "
                f"{array(columns, 'text')},\n    {lit(f'the column grants on {schema}.{name}')}\n);")
        if kind in ("r", "p"):
            policies = conn.execute(
                "SELECT policyname, roles::text[], cmd FROM pg_policies WHERE schemaname = %s AND tablename = %s"
                " ORDER BY 1", [schema, name]).fetchall()
            tests.append(f"SELECT policies_are({lit(schema)}, {lit(name)}, {array([p[0] for p in policies], 'name')});")
            for policy, roles, cmd in policies:
                tests.append(f"SELECT policy_roles_are({lit(schema)}, {lit(name)}, {lit(policy)}, "
                             f"{array(sorted(roles), 'name')});")
                tests.append(f"SELECT policy_cmd_is({lit(schema)}, {lit(name)}, {lit(policy)}, {lit(cmd)}, "
                             f"{lit(f'{policy} on {schema}.{name} is for {cmd}')});")

    tests.append("\n-- == functions ==")
    for schema, name, _identity, argtypes, signature in functions:
        tests.append(f"-- {signature}")
        for role in ROLES:
            privs = has(role, "has_function_privilege", signature, ("EXECUTE",))
            tests.append(f"SELECT function_privs_are({lit(schema)}, {lit(name)}, {array(list(argtypes))}, "
                         f"{lit(role)}, {array(privs)});")

    count = sum(1 for t in tests if t.startswith("SELECT "))
    head = (
        "-- The privilege matrix (issue 9): for every role and every object of the schemas "
        + ", ".join(schemas) + ",\n"
        "-- exactly the privileges it has, the column grants, the policies, and the list of objects itself.\n"
        "-- Bootstrapped by `make privilege-matrix` (tests/privilege_matrix.py), then maintained with the grants:\n"
        "-- a change of who may do what must change this file too, and be reviewed here.\n"
        f"BEGIN;\nSELECT plan({count});\n\n"
    )
    return head + "\n".join(tests) + "\n\nSELECT * FROM finish();\nROLLBACK;\n"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="postcart-privilege-matrix-") as tmp:
        cluster = EmbeddedCluster(Path(tmp), fast=True)
        cluster.start()
        try:
            migrate(cluster.url())
            # The search_path the pgTAP suite runs with (tests/sql/conftest.py): names print as they will match.
            with psycopg.connect(cluster.url(), autocommit=True,
                                 options="-c search_path=public,extensions,tap") as conn:
                OUT.write_text(generate(conn))
        finally:
            cluster.destroy()
    print(f"wrote {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
