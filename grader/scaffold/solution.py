# The reference solution: `grader exercise verify {name}` grades it and expects full marks.
# TODO (instructor): replace the body of train_model() with your solution.
import numpy as np
import tensorflow as tf

xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.array([-3.0, -1.0, 1.0, 3.0, 5.0, 7.0], dtype=float)


def train_model():
    raise NotImplementedError("write the reference solution of {name} here")


if __name__ == "__main__":
    model = train_model()
