import numpy as np
import tensorflow as tf


def house_model(y_new):
    xs = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    ys = None  # TODO: the prices, in hundreds of thousands
    model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    # TODO: train the model on xs and ys
    return model.predict(y_new)[0]
