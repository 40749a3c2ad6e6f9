"""``python -m egress_review``: how JupyterHub starts the airlock service."""

from .app import main

if __name__ == "__main__":
    main()
