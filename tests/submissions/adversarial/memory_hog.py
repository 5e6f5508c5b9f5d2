# Allocates far more memory than the limit allows.
import numpy as np

blocks = []
for _ in range(40):
    blocks.append(np.ones((256, 1024, 1024), dtype=np.uint8))
