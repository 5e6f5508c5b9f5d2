# expect-fail: price_of_7_bedrooms
# Prices in dollars, not hundreds of thousands: SGD on numbers this large diverges.
import numpy as np
import tensorflow as tf


def house_model():
    xs = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=float)
    ys = np.array([100000.0, 150000.0, 200000.0, 250000.0, 300000.0, 350000.0], dtype=float)
    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    model.fit(xs, ys, epochs=100, verbose=0)
    return model
