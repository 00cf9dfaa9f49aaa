#!/usr/bin/python3
"""readme_examples.py README ROOT BUILD WORKDIR: runs every fenced code block
of README that the line before it marks with `<!-- tested -->`, so that no
example there goes stale. Each block runs in its own WORKDIR/block_N, where
`examples` and `build` are links to ROOT's examples and to BUILD, so the
README's paths are the repository's: ```sh blocks with bash -e -o pipefail,
```python blocks with this interpreter and BUILD/python (the memc module)
on PYTHONPATH. Exit 1 at the first failing block,
printing it and its output; 0 when all ran (and at least one was found)."""
import os
import re
import subprocess
import sys

readme, root, build, work = sys.argv[1:5]
text = open(readme).read()
blocks = re.findall(r"<!-- tested -->\n```(\w+)\n(.*?)```", text, re.S)
if not blocks:
    print(f"{readme}: no block marked <!-- tested -->")
    sys.exit(1)
for i, (lang, code) in enumerate(blocks):
    d = os.path.join(work, f"block_{i}")
    os.makedirs(d, exist_ok=True)
    for name, target in (("examples", os.path.join(root, "examples")), ("build", build)):
        link = os.path.join(d, name)
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(target), link)
    if lang in ("sh", "bash"):
        cmd = ["bash", "-e", "-o", "pipefail", "-c", code]
    elif lang == "python":
        cmd = [sys.executable, "-c", code]
    else:
        print(f"block {i}: language '{lang}' is not runnable")
        sys.exit(1)
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.abspath(build), "python"))
    p = subprocess.run(cmd, cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode != 0:
        print(f"block {i} ({lang}) failed with exit {p.returncode}:\n{code}\n--- output:\n{p.stdout[-3000:]}")
        sys.exit(1)
    print(f"block {i} ({lang}): ok")
