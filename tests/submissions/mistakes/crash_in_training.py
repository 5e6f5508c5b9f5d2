# A callback that raises at epoch 101 of 500: training ends with the error.
import numpy as np
import tensorflow as tf


class Check(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 100:
            raise ValueError("loss looked odd")


model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mean_squared_error")
xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0])
ys = 3 * xs + 1
model.fit(xs, ys, epochs=500, verbose=0, callbacks=[Check()])
