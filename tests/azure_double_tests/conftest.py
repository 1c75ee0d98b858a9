"""The double's own tests use its fixtures (imported: pytest_plugins only works in the root conftest)."""

from tests.azure_double.pytest_plugin import azure_double, azure_double_server  # noqa: F401
