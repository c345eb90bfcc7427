"""What deploy/container-check must prepare for docker-compose.yml, one line each:

    build SERVICE IMAGE CONTEXT DOCKERFILE   an image compose builds (paths absolute)
    image IMAGE                              every base image those builds start FROM,
                                             and every image a service runs as is
    service NAME                             a service `docker compose up` starts

Reads the compose file itself (any service another change adds is covered)
and each built Dockerfile's FROM lines, with ARG defaults filled in and
build stages left out.

    python deploy/ci/stack_plan.py REPO
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml


def base_images(dockerfile: Path) -> list[str]:
    defaults: dict[str, str] = {}
    stages: set[str] = set()
    found: list[str] = []
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0].upper() == "ARG" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            defaults.setdefault(name, value)
        elif len(words) >= 2 and words[0].upper() == "FROM":
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: defaults.get(m.group(1) or m.group(2), ""), words[1])
            if image not in stages and image != "scratch":
                found.append(image)
            if len(words) >= 4 and words[2].upper() == "AS":
                stages.add(words[3])
    return found


def plan(repo: Path) -> list[str]:
    compose = yaml.safe_load((repo / "docker-compose.yml").read_text(encoding="utf-8"))
    lines: list[str] = []
    images: list[str] = []
    built: set[str] = set()
    for name, service in compose["services"].items():
        build = service.get("build")
        if build is not None:
            spec = {"context": build} if isinstance(build, str) else build
            context = (repo / spec["context"]).resolve()
            dockerfile = context / spec.get("dockerfile", "Dockerfile")
            image = service.get("image") or f"intake-check-{name}"
            if image not in built:
                built.add(image)
                lines.append(f"build {name} {image} {context} {dockerfile}")
                images.extend(base_images(dockerfile))
        elif service.get("image"):
            images.append(service["image"])
        if not service.get("profiles"):
            lines.append(f"service {name}")
    lines.extend(f"image {image}" for image in dict.fromkeys(images))
    return lines


if __name__ == "__main__":
    print("\n".join(plan(Path(sys.argv[1]))))
