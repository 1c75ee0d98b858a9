"""The document worker alone (task queue papr-documents): `python -m workers.document_worker`."""

from workers.runner import DOCUMENTS, run


def main() -> None:
    run([DOCUMENTS])


if __name__ == "__main__":
    main()
