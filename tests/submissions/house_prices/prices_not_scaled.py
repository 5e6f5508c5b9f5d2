# expect-score: 4
# Prices in thousands (100, 150, ...): a 7-bedroom house comes out near 400, not 4.0.
import numpy as np
import tensorflow as tf


def house_model():
    xs = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], dtype=float)
    ys = np.array([100.0, 150.0, 200.0, 250.0, 300.0, 350.0], dtype=float)
    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=1.0), loss="mean_squared_error")
    model.fit(xs, ys, epochs=500, verbose=0)
    return model
