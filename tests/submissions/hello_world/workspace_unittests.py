# expect-score: 10
# The 2024-25 Coursera workspace: the notebook imports the course's own checker module and calls it.
import numpy as np
import tensorflow as tf
import unittests


def create_training_data():
    xs = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 4.0], dtype=float)
    ys = 3 * xs + 1
    return xs, ys


unittests.test_create_training_data(create_training_data)
features, targets = create_training_data()
model = tf.keras.Sequential([tf.keras.Input(shape=(1,)), tf.keras.layers.Dense(units=1)])
model.compile(optimizer='sgd', loss='mean_squared_error')
unittests.test_define_and_compile_model(model)
model.fit(features, targets, epochs=500, verbose=0)
