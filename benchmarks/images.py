"""The image a benchmark needs, or a clear message when it is not built."""

from __future__ import annotations

import sys

import docker

from enclave.images.catalog import image_tag


def available_image(kind: str) -> str | None:
    """The current tag of `kind` if the engine has it; otherwise say what to do and return None."""
    image = image_tag(kind)
    try:
        docker.from_env().images.get(image)
    except docker.errors.DockerException as e:
        print(f"The {kind} image {image} is not available ({e}); run 'make images'.", file=sys.stderr)
        return None
    return image
