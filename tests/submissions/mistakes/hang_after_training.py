# A beginner's program that trains, then waits forever (a leftover input loop).
import numpy as np
import tensorflow as tf

model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mean_squared_error")
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])
ys = 3 * xs + 1
model.fit(xs, ys, epochs=500, verbose=0)
while True:
    pass
