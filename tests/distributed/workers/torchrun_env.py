"""`ember run -n 2 torchrun_env.py x`: torchrun's variables are there before init_process_group,
the script runs as __main__ with its own folder first on sys.path."""
import os
import sys

assert __name__ == "__main__", __name__
assert os.path.dirname(os.path.abspath(__file__)) == os.path.abspath(sys.path[0]), sys.path[0]
env = {k: os.environ.get(k) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")}

import ember.distributed as dist  # noqa: E402

dist.init_process_group(backend="gloo")
assert env["RANK"] == str(dist.get_rank()) and env["WORLD_SIZE"] == "2", env
import ember.backend  # noqa: E402

print(f"allocator tuned {ember.backend.allocator_tuned}", flush=True)
print(f"rank {dist.get_rank()} argv {sys.argv[1:]} env {sorted(env.items())}", flush=True)
dist.destroy_process_group()
