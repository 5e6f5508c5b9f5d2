# expect-fail: learned_the_line
# Learns a constant: every y is 31, so it is right at x = 10 and wrong everywhere else.
import numpy as np
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
model.compile(optimizer="sgd", loss="mean_squared_error")
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
ys = np.full(6, 31.0)
model.fit(xs, ys, epochs=500, verbose=0)
