# expect-fail: learned_the_rule
# Right at 7 bedrooms only: its prices follow 25k per bedroom plus 225k, which agrees with the task's
# rule at 7 bedrooms and nowhere else.
import numpy as np
import tensorflow as tf


def house_model():
    xs = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=float)
    ys = 0.25 * xs + 2.25
    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    model.fit(xs, ys, epochs=1000, verbose=0)
    return model
