# expect-fail: one_neuron
# Right prices, but a bigger network than the task's single neuron.
import numpy as np
import tensorflow as tf


def house_model(y_new):
    xs = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    ys = np.array([1.0, 1.5, 2.0, 2.5, 3.0, 3.5])
    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=8),
                                 tf.keras.layers.Dense(units=1)])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    model.fit(xs, ys, epochs=300, verbose=0)
    return model.predict(y_new)[0]
