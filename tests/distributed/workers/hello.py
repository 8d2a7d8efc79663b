"""`ember run -n 2 hello.py a b`: each rank prints its rank, the world size and its arguments
(and its OMP_NUM_THREADS, and how many cores its kernel threads may use)."""
import os
import sys

import ember
import ember.distributed as dist
from ember.backend import threads

dist.init_process_group()
t = ember.tensor([float(dist.get_rank())])
dist.all_reduce(t)
print(f"rank {dist.get_rank()} of {dist.get_world_size()} args {sys.argv[1:]} sum {t.item()} "
      f"threads {os.environ.get('OMP_NUM_THREADS')} kernel cores {threads.cores}", flush=True)
