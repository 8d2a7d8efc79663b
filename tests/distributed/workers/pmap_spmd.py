"""The same pmap program on N ranks (SPMD over MPI) and in one process: run with
``mpiexec -n 2 python pmap_spmd.py OUT.npz`` (rank 0 writes the results) or without MPI
(``python pmap_spmd.py OUT.npz --local``: the in-process pmap over the same axis size)."""
import sys

import numpy as np

import ember
import ember.distributed as dist
from ember import lax

N = 2


def programs():
    r = np.random.default_rng(5)
    x = ember.tensor(r.standard_normal((N, 3, 4)).astype(np.float32))
    w = ember.tensor(r.standard_normal((4, 2)).astype(np.float32))
    out = {}
    out["psum"] = ember.pmap(lambda v: lax.psum(v, "i"), axis_name="i")(x)
    out["pmean_norm"] = ember.pmap(lambda v: v / lax.pmean(v * v, "i"), axis_name="i")(x)
    out["pmax_pmin"] = ember.pmap(lambda v: lax.pmax(v, "i") - 2 * lax.pmin(v, "i"),
                                  axis_name="i")(x)
    out["all_gather"] = ember.pmap(lambda v: lax.all_gather(v, "i", axis=1),
                                   axis_name="i")(x)
    out["all_gather_tiled"] = ember.pmap(lambda v: lax.all_gather(v, "i", tiled=True),
                                         axis_name="i")(x)
    out["psum_scatter"] = ember.pmap(lambda v: lax.psum_scatter(v[:2], "i"), axis_name="i")(x)
    out["psum_scatter_tiled"] = ember.pmap(
        lambda v: lax.psum_scatter(v, "i", scatter_dimension=1, tiled=True), axis_name="i")(x)
    out["ppermute"] = ember.pmap(lambda v: lax.ppermute(v, "i", [(0, 1), (1, 0)]),
                                 axis_name="i")(x)
    out["ppermute_partial"] = ember.pmap(lambda v: lax.ppermute(v, "i", [(0, 1)]),
                                         axis_name="i")(x)
    out["axis_index"] = ember.pmap(lambda v: v * lax.axis_index("i"), axis_name="i")(x)
    out["in_axes_static"] = ember.pmap(lambda v, m, k: (v @ m) * k, axis_name="i",
                                       in_axes=(0, None, None),
                                       static_broadcasted_argnums=2)(x, w, 3.0)
    out["grad_inside"] = ember.pmap(ember.grad(lambda v: ((v / lax.psum(v * v, "i")) ** 3)
                                               .sum()), axis_name="i")(x)
    out["grad_outside"] = ember.grad(lambda v: (ember.pmap(
        lambda u: (u @ w) / lax.psum(u * u, "i").sum(), axis_name="i")(v) ** 2).sum())(x)
    from ember.sharding import PartitionSpec as P, make_mesh
    out["shard_map"] = ember.shard_map(lambda a: lax.psum(a.sum(0), "i") * a,
                                       mesh=make_mesh((N,), ("i",)), in_specs=P("i"),
                                       out_specs=P("i"))(x.reshape(N * 3, 4))
    # eager .backward() through a pmap: the tape's rules run the collectives after the call
    xe = ember.tensor(x.numpy(), requires_grad=True)
    (ember.pmap(lambda u: u * lax.pmean(u, "i"), axis_name="i")(xe) ** 2).sum().backward()
    out["eager_backward"] = xe.grad
    # a data-parallel SGD step: pmean'd gradients
    params = [ember.tensor(r.standard_normal(s).astype(np.float32) * 0.5)
              for s in [(4, 8), (8,), (8, 2)]]
    y = ember.tensor(r.standard_normal((N, 3, 2)).astype(np.float32))

    def loss(p, xb, yb):
        return (((xb @ p[0] + p[1]).tanh() @ p[2] - yb) ** 2).mean()

    def step(p, xb, yb):
        g = lax.pmean(ember.grad(loss)(p, xb, yb), "batch")
        return [a - 0.1 * b for a, b in zip(p, g)]
    new = ember.pmap(step, axis_name="batch", in_axes=(None, 0, 0))(params, x, y)
    for k, t in enumerate(new):
        out[f"step_{k}"] = t
    return {k: v.numpy() for k, v in out.items()}


if __name__ == "__main__":
    path = sys.argv[1]
    if "--local" in sys.argv:
        np.savez(path, **programs())
        print("pmap local ok")
    else:
        dist.init_process_group()
        assert dist.get_world_size() == N, dist.get_world_size()
        res = programs()
        if dist.get_rank() == 0:
            np.savez(path, **res)
        dist.barrier()
        dist.destroy_process_group()
        print("pmap spmd ok")
