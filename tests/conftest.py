"""Suite-wide settings: which tests must share one pytest-xdist worker.

`make test` runs the suite on two workers (`-n 2 --dist loadgroup`). Tests that start things only
only one of which can exist on a machine at a time (podman hosts and images with fixed names, the
single-node Kubernetes that owns kubelet's host paths and, like podman, the host's iptables) run on
one worker, one after another; everything else picks free ports and temporary folders and is
spread over both workers.

`make test-fast` leaves out, besides the podman/image/Kubernetes tiers and `slow` tests, the tests
that run the collection's modules (marker `playbook`, set here from the fixtures that run them):
each makes several module runs against the Azure double, Temporal or HTTP servers, together minutes
of two cores even where the runs go through the module host (tests/module_host.py) instead of
ansible-playbook. `make test-modules` runs exactly those; `make test` runs everything."""

from __future__ import annotations

import pytest

# marker -> the worker group its tests run in.
EXCLUSIVE_GROUPS = {"molecule": "host", "image": "host", "k8s": "host"}
# Fixtures whose every call is one ansible-playbook run of the collection's modules.
PLAYBOOK_FIXTURES = {"run_tasks", "run_module"}


def _uses_a_module_fixture(item: pytest.Item) -> bool:
    """Whether the test uses a module-scoped fixture (a deployment, a stack made once per module)."""
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info else ()
    return any(chain and chain[-1].scope == "module" for chain in definitions)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups from the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if PLAYBOOK_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.playbook)
        for marker, group in EXCLUSIVE_GROUPS.items():
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.xdist_group(group))
                break
        else:
            # A module's shared deployment is made once, on one worker: split over two workers it
            # would be made twice, and two copies of one deployment would run side by side.
            if _uses_a_module_fixture(item):
                item.add_marker(pytest.mark.xdist_group(f"module:{item.module.__name__}"))


# Host tests by module, longest first: the molecule scenarios, the AKS end-to-end suite, then the
# image, then the rest (the AWX EE jobs, skipped unless asked for) last.
HOST_MODULE_ORDER = ("tests.molecule.", "tests.k8s.test_site_aks", "tests.image.")


def _work_unit(item: pytest.Item) -> str:
    """What pytest-xdist --dist loadgroup hands out as one piece: a group, or a single test."""
    group = item.get_closest_marker("xdist_group")
    return group.args[0] if group else item.nodeid


def _start_order(item: pytest.Item) -> tuple[int, int]:
    unit = _work_unit(item)
    if unit == "host":
        module = item.module.__name__
        return 0, next((i for i, prefix in enumerate(HOST_MODULE_ORDER) if module.startswith(prefix)), 9)
    # Slow tests first; groups (several tests sharing an expensive fixture) before single tests.
    slow, single = bool(item.get_closest_marker("slow")), unit == item.nodeid
    return 1 + 2 * (not slow) + single, 0


def _tag_with_group(item: pytest.Item) -> None:
    """The group as the suffix of the test's id, which is what --dist loadgroup's controller reads:
    pytest-xdist 3.8 writes it to an attribute pytest 9 no longer has (the id is `_id`), so without
    this every test was a unit of its own and the groups were not kept on one worker."""
    group = _work_unit(item)
    if not hasattr(item, "_id"):  # pytest 8: pytest-xdist's own suffix works
        return
    if group != item.nodeid and not item.nodeid.endswith(f"@{group}"):
        item._id = type(item._id).parse(f"{item.nodeid}@{group}")


class XdistWorker:
    """On xdist workers, whose collection order is the order the controller hands the work out in
    (with --no-loadscope-reorder): the podman group first, on one worker from the start, so that the
    other worker runs everything else meanwhile (the group is a third to a half of the suite's
    time); then the slow tests, then the quick ones that fill the end. Inside the podman group the
    quick (skipped) tests come last: a worker takes its next unit when two tests of its current one
    are left, and that unit would wait there behind two long scenarios while the other worker may
    be idle."""

    @pytest.hookimpl(trylast=True)  # after the groups are set and pytest ordered by fixtures
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        order: dict[str, tuple[int, int]] = {}
        for item in items:
            unit = _work_unit(item)
            order[unit] = min(order.get(unit, (9, 9)), _start_order(item))
        # A stable sort on one key per unit (then per module inside the podman group): the tests
        # of a module or group stay together, in their order.
        items.sort(key=lambda item: (order[_work_unit(item)], _start_order(item)[1]))
        if getattr(config.option, "loadgroup", False):
            for item in items:
                _tag_with_group(item)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        config.pluginmanager.register(XdistWorker(), "papr-xdist-worker")
