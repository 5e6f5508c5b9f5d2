# expect-score: 10
# A quick correct submission (fewer epochs than the course, a larger learning rate).
import numpy as np
import tensorflow as tf

xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.05), loss="mean_squared_error")
model.fit(xs, 3 * xs + 1, epochs=150, verbose=0)
