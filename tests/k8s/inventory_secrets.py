"""The secrets inventories/aks reads from the environment, for the tests that run its plays
without a cluster (strong enough for the pre-flight, never real)."""

SECRETS = {
    "PAPR_DATABASE_PASSWORD": "Hard-Pa55word-42",
    "PAPR_DATABASE_ADMIN_PASSWORD": "Admin-Pa55word",
    "PAPR_TEMPORAL_DATABASE_PASSWORD": "Tmp-Pa55word-42",
    "PAPR_API_KEYS": "key-one",
}
