"""One model, 8 Python threads (the library releases the GIL): every result equals the serial one."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from conftest import make_images


def jobs(model):
    out = []
    for i in range(4):
        images = make_images(1 + i % 2, seed=20 + i)
        out.append(lambda images=images, i=i: model.encode(images, seed=i, masks=True).masks)
        out.append(lambda images=images, i=i: model.encode(images.astype(np.float32) / 255, seed=i).codes)
        out.append(lambda i=i: model.decode(model.sample_prior(1 + i % 2, seed=i)))
        out.append(lambda i=i: model.decode(model.sample_prior(1, seed=50 + i), temperature=0.8, top_k=5, seed=i,
                                            dtype=np.uint8))
        out.append(lambda i=i: model.codebook(i))
    return out


def test_eight_threads_give_the_serial_results(model):
    work = jobs(model)
    serial = [job() for job in work]
    order = [(t, (k * (t + 1) + t) % len(work)) for t in range(8) for k in range(len(work))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda tj: (tj[1], work[tj[1]]()), order))
    assert len(results) == 8 * len(work)
    mismatches = [j for j, r in results if not np.array_equal(r, serial[j])]
    assert not mismatches, f"{len(mismatches)} concurrent results differ from the serial ones (jobs {sorted(set(mismatches))})"
