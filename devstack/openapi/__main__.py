"""`python -m devstack.openapi gen/shop.pb gen/openapi`: one JSON document per audience."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from devstack.openapi.descriptors import load
from devstack.openapi.document import AUDIENCES, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("descriptor_set", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    index = load(args.descriptor_set)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for audience in AUDIENCES:
        text = json.dumps(build(index, audience), indent=1, ensure_ascii=False) + "\n"
        (args.out_dir / f"{audience}.json").write_text(text)


if __name__ == "__main__":
    main()
