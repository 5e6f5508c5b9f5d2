import numpy as np
import tensorflow as tf


def house_model():
    # TODO: the bedrooms of six houses, and their prices in hundreds of thousands
    # (a house costs 50k plus 50k per bedroom: 1 bedroom is 1.0, 2 bedrooms 1.5, ...).
    xs = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=float)
    ys = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0], dtype=float)

    # One layer with one neuron that takes one number.
    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
    model.compile(optimizer="sgd", loss="mean_squared_error")

    # TODO: train for many more epochs.
    model.fit(xs, ys, epochs=1, verbose=0)
    return model
