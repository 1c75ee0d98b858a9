"""The memory worker alone (task queue papr-memory): `python -m workers.memory_worker`."""

from workers.runner import MEMORY, run


def main() -> None:
    run([MEMORY])


if __name__ == "__main__":
    main()
