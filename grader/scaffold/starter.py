import numpy as np
import tensorflow as tf

xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.array([-3.0, -1.0, 1.0, 3.0, 5.0, 7.0], dtype=float)


def train_model():
    # TODO: build a model with one Dense layer of one unit, compile it with the 'sgd' optimizer
    # and the 'mean_squared_error' loss, train it on xs and ys with model.fit, and return it.
    model = None
    return model


if __name__ == "__main__":
    model = train_model()
